/* demo.h - `herald demo` (demo.c): the tutorial's alert on a mock cluster. */
#ifndef HERALD_DEMO_H
#define HERALD_DEMO_H

/* Runs the demo with the config at path; returns the process exit code. */
int herald__demo_run(const char *config_path, const char *log_level);

#endif
