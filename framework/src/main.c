/* main.c - the herald command line (placeholder until cli.c lands). */
#include <stdio.h>

int main(void)
{
    printf("herald %s\n", HERALD_VERSION);
    return 0;
}
