/*
 * template_text.h - the template engine's text and number helpers
 * (template_text.c): how a value reads in a message, masking, exact
 * decimal rounding and HTML escaping. Pure functions of their arguments;
 * any thread.
 */
#ifndef HERALD_TEMPLATE_TEXT_H
#define HERALD_TEMPLATE_TEXT_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

/* The string form a substitution gives a value (template.h, "Values").
 * Returns a malloc'd string the caller frees, or NULL on allocation
 * failure; NULL value and JSON null give "". */
char *herald__template_value_string(const json_t *v);

/* "an object", "a string", ... for error messages: a static string. */
const char *herald__template_type_name(const json_t *v);

/* All but the last `visible` characters (code points) of s become '*'; a
 * value of `visible` characters or fewer is masked entirely. keep_stars:
 * write the stars (mask) or drop them (last4). Returns a malloc'd string
 * the caller frees, or NULL on allocation failure. */
char *herald__template_mask(const char *s, size_t visible, int keep_stars);

/* Round the decimal string s ([+-]digits[.digits][e[+-]digits]) to
 * `places` digits after the point, half up (away from zero), by string
 * arithmetic. Returns a malloc'd string the caller frees, or NULL if s is
 * not a decimal number (or on allocation failure). */
char *herald__template_decimal_round(const char *s, int places);

/* Append s to b with & < > " ' escaped for HTML. A failed allocation
 * marks b failed (buf.h). */
void herald__template_html_escape(struct herald__buf *b, const char *s);

#endif
