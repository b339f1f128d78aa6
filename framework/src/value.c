/*
 * value.c - the arena and the compact value tree. Contract in value.h.
 */
#include "value.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The first chunk: a typical record's key and value fit in it. */
#define ARENA_FIRST_CHUNK 1024u
#define ARENA_ALIGN 8u
/* A path component (member name) longer than this is a malformed path,
 * as it always was for record paths. */
#define PATH_NAME_MAX 255u

struct herald__arena_chunk {
    struct herald__arena_chunk *next; /* older, smaller chunks */
    size_t size;                      /* bytes in data */
    size_t used;
    size_t last; /* offset of the last allocation, for grow */
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

static size_t align_up(size_t n)
{
    return (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
}

static struct herald__arena_chunk *chunk_new(size_t at_least, size_t prev)
{
    struct herald__arena_chunk *c;
    size_t size = prev ? prev * 2 : ARENA_FIRST_CHUNK;

    if (prev > SIZE_MAX / 2) {
        size = SIZE_MAX;
    }
    if (size < at_least) {
        size = at_least;
    }
    if (size > SIZE_MAX - sizeof *c) {
        return NULL;
    }
    c = malloc(sizeof *c + size);
    if (!c) {
        return NULL;
    }
    c->next = NULL;
    c->size = size;
    c->used = 0;
    c->last = 0;
    return c;
}

void *herald__arena_alloc(struct herald__arena *a, size_t n)
{
    struct herald__arena_chunk *c = a->head;
    size_t need;
    void *p;

    if (n > SIZE_MAX - ARENA_ALIGN) {
        return NULL;
    }
    need = align_up(n ? n : 1);
    if (!c || c->size - c->used < need) {
        struct herald__arena_chunk *fresh = chunk_new(need, c ? c->size : 0);
        if (!fresh) {
            return NULL;
        }
        fresh->next = c;
        a->head = c = fresh;
    }
    p = c->data + c->used;
    c->last = c->used;
    c->used += need;
    a->bytes += need;
    return p;
}

void *herald__arena_grow(struct herald__arena *a, void *p, size_t old_n,
                         size_t new_n)
{
    struct herald__arena_chunk *c = a->head;
    void *q;

    if (!p) {
        return herald__arena_alloc(a, new_n);
    }
    if (new_n > SIZE_MAX - ARENA_ALIGN) {
        return NULL;
    }
    if (c && (unsigned char *)p == c->data + c->last &&
        c->size - c->last >= align_up(new_n ? new_n : 1)) {
        size_t was = c->used - c->last;
        c->used = c->last + align_up(new_n ? new_n : 1);
        a->bytes += (c->used - c->last) - was;
        return p;
    }
    q = herald__arena_alloc(a, new_n);
    if (q && old_n > 0) {
        memcpy(q, p, old_n);
    }
    return q;
}

char *herald__arena_strdup(struct herald__arena *a, const char *s, size_t n)
{
    char *p;

    if (n == SIZE_MAX) {
        return NULL;
    }
    p = herald__arena_alloc(a, n + 1);
    if (p) {
        if (n > 0) {
            memcpy(p, s, n);
        }
        p[n] = '\0';
    }
    return p;
}

static void free_chain(struct herald__arena_chunk *c)
{
    while (c) {
        struct herald__arena_chunk *next = c->next;
        free(c);
        c = next;
    }
}

void herald__arena_reset(struct herald__arena *a)
{
    if (a->head) {
        free_chain(a->head->next);
        a->head->next = NULL;
        a->head->used = 0;
        a->head->last = 0;
    }
    a->bytes = 0;
}

void herald__arena_free(struct herald__arena *a)
{
    free_chain(a->head);
    a->head = NULL;
    a->bytes = 0;
}

/* ---- lookup ---------------------------------------------------------- */

const struct herald__val *herald__val_get(const struct herald__val *obj,
                                          const char *name, size_t len)
{
    uint32_t i;

    if (!obj || obj->type != HERALD__V_OBJ) {
        return NULL;
    }
    for (i = 0; i < obj->n; i++) {
        const struct herald__member *m = &obj->u.members[i];
        if (m->name_len == len && memcmp(m->name, name, len) == 0) {
            return &m->val;
        }
    }
    return NULL;
}

static const struct herald__val *item(const struct herald__val *arr, size_t idx)
{
    if (!arr || arr->type != HERALD__V_ARR || idx >= arr->n) {
        return NULL;
    }
    return &arr->u.items[idx];
}

int herald__val_walk(const struct herald__val *node, const char *p, int first,
                     const struct herald__val **out)
{
    while (*p != '\0') {
        const char *name;
        size_t n = 0;

        if (*p == '[') {
            p++;
            if (*p == '"') {
                name = ++p;
                while (*p != '\0' && *p != '"') {
                    p++;
                }
                n = (size_t)(p - name);
                if (n > PATH_NAME_MAX - 1 || p[0] != '"' || p[1] != ']') {
                    return -1;
                }
                p += 2;
                node = herald__val_get(node, name, n);
            } else {
                size_t idx = 0;
                if (*p < '0' || *p > '9') {
                    return -1;
                }
                while (*p >= '0' && *p <= '9') {
                    if (idx > (SIZE_MAX - 9) / 10) {
                        return -1;
                    }
                    idx = idx * 10 + (size_t)(*p - '0');
                    p++;
                }
                if (*p != ']') {
                    return -1;
                }
                p++;
                node = item(node, idx);
            }
        } else {
            if (!first) {
                if (*p != '.') {
                    return -1;
                }
                p++;
            }
            name = p;
            while (*p != '\0' && *p != '.' && *p != '[' && *p != ']') {
                p++;
            }
            n = (size_t)(p - name);
            if (n == 0 || n > PATH_NAME_MAX - 1) {
                return -1;
            }
            node = herald__val_get(node, name, n);
        }
        first = 0;
    }
    *out = node;
    return 0;
}

void herald__val_fill(const struct herald__val *v, struct herald_value *out)
{
    memset(out, 0, sizeof *out);
    if (!v) {
        out->type = HERALD_VALUE_MISSING;
        return;
    }
    out->node = v;
    switch ((enum herald__vtype)v->type) {
    case HERALD__V_NULL:
        out->type = HERALD_VALUE_NULL;
        break;
    case HERALD__V_BOOL:
        out->type = HERALD_VALUE_BOOL;
        out->boolean = v->boolean;
        break;
    case HERALD__V_INT:
        out->type = HERALD_VALUE_INT;
        out->integer = v->u.i;
        break;
    case HERALD__V_REAL:
        out->type = HERALD_VALUE_DOUBLE;
        out->real = v->u.d;
        break;
    case HERALD__V_STR:
        out->type = HERALD_VALUE_STRING;
        out->str = v->u.s;
        out->len = v->n;
        break;
    case HERALD__V_ARR:
        out->type = HERALD_VALUE_ARRAY;
        out->count = v->n;
        break;
    case HERALD__V_OBJ:
        out->type = HERALD_VALUE_OBJECT;
        out->count = v->n;
        break;
    }
}

/* ---- jansson bridges -------------------------------------------------- */

json_t *herald__val_to_json(const struct herald__val *v)
{
    json_t *j;
    uint32_t i;

    if (!v) {
        return json_null();
    }
    switch ((enum herald__vtype)v->type) {
    case HERALD__V_NULL:
        return json_null();
    case HERALD__V_BOOL:
        return json_boolean(v->boolean);
    case HERALD__V_INT:
        return json_integer(v->u.i);
    case HERALD__V_REAL:
        return json_real(v->u.d);
    case HERALD__V_STR:
        return json_stringn(v->u.s, v->n);
    case HERALD__V_ARR:
        j = json_array();
        for (i = 0; j && i < v->n; i++) {
            if (json_array_append_new(j, herald__val_to_json(&v->u.items[i]))) {
                json_decref(j);
                j = NULL;
            }
        }
        return j;
    case HERALD__V_OBJ:
        j = json_object();
        for (i = 0; j && i < v->n; i++) {
            const struct herald__member *m = &v->u.members[i];
            if (json_object_setn_new(j, m->name, m->name_len,
                                     herald__val_to_json(&m->val))) {
                json_decref(j);
                j = NULL;
            }
        }
        return j;
    }
    return NULL;
}

int herald__val_from_json(const json_t *j, struct herald__arena *a,
                          struct herald__val *out)
{
    struct herald__val *items;
    struct herald__member *members;
    const char *k;
    json_t *v;
    size_t i, n, kl;

    memset(out, 0, sizeof *out);
    switch (json_typeof(j)) {
    case JSON_NULL:
        out->type = HERALD__V_NULL;
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        out->type = HERALD__V_BOOL;
        out->boolean = json_is_true(j);
        return 0;
    case JSON_INTEGER:
        out->type = HERALD__V_INT;
        out->u.i = json_integer_value(j);
        return 0;
    case JSON_REAL:
        out->type = HERALD__V_REAL;
        out->u.d = json_real_value(j);
        return 0;
    case JSON_STRING:
        n = json_string_length(j);
        if (n > HERALD__VAL_MAX_N) {
            return -1;
        }
        out->type = HERALD__V_STR;
        out->n = (uint32_t)n;
        out->u.s = herald__arena_strdup(a, json_string_value(j), n);
        return out->u.s ? 0 : -1;
    case JSON_ARRAY:
        n = json_array_size(j);
        if (n > HERALD__VAL_MAX_N || n > SIZE_MAX / sizeof *items) {
            return -1;
        }
        items = herald__arena_alloc(a, n * sizeof *items);
        if (!items) {
            return -1;
        }
        out->type = HERALD__V_ARR;
        out->n = (uint32_t)n;
        out->u.items = items;
        json_array_foreach ((json_t *)j, i, v) {
            if (herald__val_from_json(v, a, &items[i]) != 0) {
                return -1;
            }
        }
        return 0;
    case JSON_OBJECT:
        n = json_object_size(j);
        if (n > HERALD__VAL_MAX_N || n > SIZE_MAX / sizeof *members) {
            return -1;
        }
        members = herald__arena_alloc(a, n * sizeof *members);
        if (!members) {
            return -1;
        }
        out->type = HERALD__V_OBJ;
        out->n = (uint32_t)n;
        out->u.members = members;
        i = 0;
        json_object_keylen_foreach ((json_t *)j, k, kl, v) {
            members[i].name = herald__arena_strdup(a, k, kl);
            members[i].name_len = (uint32_t)kl;
            if (!members[i].name ||
                herald__val_from_json(v, a, &members[i].val) != 0) {
                return -1;
            }
            i++;
        }
        return 0;
    }
    return -1;
}

void herald__val_size(const struct herald__val *v, uint64_t *nodes,
                      uint64_t *bytes)
{
    uint32_t i;

    if (!v) {
        return;
    }
    (*nodes)++;
    switch ((enum herald__vtype)v->type) {
    case HERALD__V_STR:
        *bytes += v->n;
        break;
    case HERALD__V_ARR:
        for (i = 0; i < v->n; i++) {
            herald__val_size(&v->u.items[i], nodes, bytes);
        }
        break;
    case HERALD__V_OBJ:
        for (i = 0; i < v->n; i++) {
            *bytes += v->u.members[i].name_len;
            herald__val_size(&v->u.members[i].val, nodes, bytes);
        }
        break;
    default:
        break;
    }
}
