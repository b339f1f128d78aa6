/* b.c - fixture: reaches back into a.c, closing the cycle a -> b -> a. */
#include "a.h"
#include "b.h"

int herald__b_get(void)
{
    return herald__a_get() - 1;
}
