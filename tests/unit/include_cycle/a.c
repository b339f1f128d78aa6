/* a.c - fixture: uses b.c through b.h, while b.c uses a.c. */
#include "a.h"
#include "b.h"

int herald__a_get(void)
{
    return herald__b_get() + 1;
}
