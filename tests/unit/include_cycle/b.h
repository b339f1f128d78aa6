/* b.h - fixture for check_includes_finds_cycle: declares b.c's function. */
int herald__b_get(void);
