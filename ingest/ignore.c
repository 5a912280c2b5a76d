/* ingest/ignore.c — gitignore-style patterns (ingest/ignore.h).
 *
 * Each rule keeps its glob, whether it is negated, directory-only or
 * anchored. Matching a path against a rule set walks the chain from the
 * root set down (a deeper .ragdignore is consulted after the ones above
 * it) and keeps the verdict of the last rule that matched. A rule of a set
 * whose base is "docs" sees only paths under "docs/", relative to it.
 *
 * The glob matcher is a small backtracking one over the pattern and the
 * path: '*' stays inside a component, "**" spans components. Patterns come
 * from the user and are short, so backtracking stays cheap.
 */
#include "ingest/ignore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

typedef struct {
    char *glob;
    bool negate, dir_only, anchored;
} rule;

struct ignore_rules {
    char *base; /* "" or "docs/sub" */
    const ignore_rules *parent;
    rule *v;
    size_t n, cap;
};

ignore_rules *ignore_new(const char *base, const ignore_rules *parent)
{
    ignore_rules *r = ragd_xcalloc(1, sizeof *r);
    r->base = ragd_xstrdup(base ? base : "");
    r->parent = parent;
    return r;
}

void ignore_free(ignore_rules *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].glob);
    free(r->v);
    free(r->base);
    free(r);
}

void ignore_add(ignore_rules *r, const char *pattern)
{
    size_t len = strlen(pattern);
    while (len && (pattern[len - 1] == '\n' || pattern[len - 1] == '\r' ||
                   (pattern[len - 1] == ' ' && !(len > 1 && pattern[len - 2] == '\\'))))
        len--;
    if (!len || pattern[0] == '#') return;
    rule ru = {0};
    size_t s = 0;
    if (pattern[0] == '!') {
        ru.negate = true;
        s = 1;
    } else if (pattern[0] == '\\' && (pattern[1] == '!' || pattern[1] == '#')) {
        s = 1;
    }
    if (len > s && pattern[len - 1] == '/') {
        ru.dir_only = true;
        len--;
    }
    if (len <= s) return;
    const char *slash = memchr(pattern + s, '/', len - s);
    ru.anchored = slash != NULL;
    if (pattern[s] == '/') s++;
    if (len <= s) return;
    ru.glob = ragd_xmalloc(len - s + 1);
    memcpy(ru.glob, pattern + s, len - s);
    ru.glob[len - s] = '\0';
    ragd_array_grow((void **)&r->v, &r->cap, r->n + 1, sizeof *r->v);
    r->v[r->n++] = ru;
}

ragd_status ignore_add_file(ignore_rules *r, const char *file, ragd_error *err)
{
    FILE *f = fopen(file, "r");
    if (!f) return ragd_error_set(err, RAGD_EINPUT, "cannot read %s", file);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0)
        ignore_add(r, line);
    free(line);
    fclose(f);
    return RAGD_OK;
}

/* A character class at *pp ("[a-z]", "[!x]"); advances *pp past it. A '['
 * without its ']' is a literal '['. */
static bool class_match(const char **pp, char c, bool *ok)
{
    const char *p = *pp + 1;
    bool neg = *p == '!' || *p == '^';
    if (neg) p++;
    bool hit = false;
    const char *q = p;
    if (*q == ']') q++; /* a leading ']' is literal */
    while (*q && *q != ']')
        q++;
    if (!*q) {
        *ok = false; /* no closing bracket */
        return false;
    }
    for (const char *x = p; x < q; x++) {
        if (x + 2 < q && x[1] == '-') {
            if ((unsigned char)c >= (unsigned char)x[0] && (unsigned char)c <= (unsigned char)x[2])
                hit = true;
            x += 2;
        } else if (*x == c) {
            hit = true;
        }
    }
    *ok = true;
    *pp = q + 1;
    return hit != neg;
}

static bool gmatch(const char *start, const char *p, const char *s)
{
    while (*p) {
        if (p[0] == '*' && p[1] == '*' && (p == start || p[-1] == '/') && (!p[2] || p[2] == '/')) {
            if (!p[2]) return true; /* trailing "**": everything below */
            p += 3;                 /* two stars and a slash: zero or more components */
            for (;;) {
                if (gmatch(start, p, s)) return true;
                s = strchr(s, '/');
                if (!s) return false;
                s++;
            }
        }
        if (*p == '*') {
            while (*p == '*')
                p++;
            for (;;) {
                if (gmatch(start, p, s)) return true;
                if (!*s || *s == '/') return false;
                s++;
            }
        }
        if (!*s) return false;
        if (*p == '?') {
            if (*s == '/') return false;
            p++;
            s++;
            continue;
        }
        if (*p == '[') {
            bool ok;
            const char *q = p;
            bool hit = class_match(&q, *s, &ok);
            if (ok) {
                if (!hit || *s == '/') return false;
                p = q;
                s++;
                continue;
            }
        }
        if (*p == '\\' && p[1]) p++;
        if (*p != *s) return false;
        p++;
        s++;
    }
    return !*s;
}

bool ignore_glob(const char *pattern, const char *path)
{
    return gmatch(pattern, pattern, path);
}

/* The verdict of one set (not its parents) for path relative to the root. */
static int set_match(const ignore_rules *r, const char *path, bool is_dir)
{
    const char *rel = path;
    size_t bl = strlen(r->base);
    if (bl) {
        if (strncmp(path, r->base, bl) || path[bl] != '/') return 0;
        rel = path + bl + 1;
    }
    const char *name = strrchr(rel, '/');
    name = name ? name + 1 : rel;
    int verdict = 0;
    for (size_t i = 0; i < r->n; i++) {
        const rule *ru = &r->v[i];
        if (ru->dir_only && !is_dir) continue;
        if (ignore_glob(ru->glob, ru->anchored ? rel : name)) verdict = ru->negate ? -1 : 1;
    }
    return verdict;
}

int ignore_match(const ignore_rules *r, const char *path, bool is_dir)
{
    if (!r) return 0;
    int up = ignore_match(r->parent, path, is_dir);
    int here = set_match(r, path, is_dir);
    return here ? here : up;
}
