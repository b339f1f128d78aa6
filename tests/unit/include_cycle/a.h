/* a.h - fixture for check_includes_finds_cycle: declares a.c's function. */
int herald__a_get(void);
