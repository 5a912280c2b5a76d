/* ingest/walk.c — paths to files, document ids and skips (ingest/walk.h).
 *
 * The walk is depth-first over sorted names. Each directory gets a rule set
 * for its .ragdignore (chained to its parent's, the root's holding the
 * --exclude patterns), so a pattern is matched once per entry against the
 * path relative to the argument. Directories walked are remembered by
 * (device, inode) in a sorted array, which ends symlink loops.
 */
#include "ingest/walk.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/path.h"
#include "ingest/ignore.h"

/* Extensions of files that are not documents, by reason. */
static const struct {
    const char *reason;
    const char *const ext[20];
} WALK_REASONS[] = {
    {"images",
     {"png", "jpg", "jpeg", "gif", "svg", "svgz", "webp", "ico", "bmp", "tif", "tiff", "avif",
      "psd", "eps", "xcf", NULL}},
    {"fonts", {"woff", "woff2", "ttf", "otf", "eot", "pfb", "afm", NULL}},
    {"archives",
     {"zip", "gz", "tgz", "bz2", "xz", "zst", "7z", "tar", "rar", "jar", "whl", "deb", "rpm",
      NULL}},
    {"scripts", {"js", "mjs", "cjs", NULL}},
    {"styles", {"css", "scss", "sass", "less", NULL}},
    {"source maps", {"map", NULL}},
    {"data", {"json", "inv", "db", "sqlite", "pickle", "pkl", "npy", NULL}},
    {"media",
     {"mp3", "mp4", "wav", "ogg", "oga", "ogv", "webm", "avi", "mov", "flac", "m4a", "mkv", NULL}},
    {"binaries",
     {"exe", "dll", "so", "o", "a", "dylib", "class", "pyc", "pyo", "wasm", "obj", "lib", NULL}},
};

/* The reason a walked file named `name` is not a document, or NULL. */
static const char *skip_reason(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return NULL;
    for (size_t i = 0; i < sizeof WALK_REASONS / sizeof WALK_REASONS[0]; i++)
        for (int k = 0; WALK_REASONS[i].ext[k]; k++)
            if (!strcasecmp(dot + 1, WALK_REASONS[i].ext[k])) return WALK_REASONS[i].reason;
    return NULL;
}

typedef struct {
    dev_t dev;
    ino_t ino;
} dir_id;

typedef struct {
    const walk_opts *o;
    walk_stats *stats;
    file_list *out;
    dir_id *dirs; /* directories walked, sorted */
    size_t ndirs, capdirs;
} walker;

static void file_add(file_list *l, const char *path, const char *key, const char *abs, off_t size,
                     bool walked)
{
    ragd_array_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v);
    l->v[l->n] = (input_file){.path = ragd_xstrdup(path),
                              .key = ragd_xstrdup(key),
                              .abs = ragd_xstrdup(abs),
                              .size = size,
                              .walked = walked};
    l->n++;
}

void file_list_free(file_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].key);
        free(l->v[i].abs);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

void walk_skip(walk_stats *stats, bool verbose, const char *file, const char *reason)
{
    json_t *n = json_object_get(stats->skipped, reason);
    json_object_set_new(stats->skipped, reason, json_integer(n ? json_integer_value(n) + 1 : 1));
    if (verbose) log_write(LOG_INFO, "skipped", "file", file, "reason", reason, NULL);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int dir_id_cmp(const dir_id *x, const dir_id *y)
{
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Record directory `id` as walked; false if it already was. */
static bool dir_first_visit(walker *w, dir_id id)
{
    size_t lo = 0, hi = w->ndirs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = dir_id_cmp(&w->dirs[mid], &id);
        if (!c) return false;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    ragd_array_grow((void **)&w->dirs, &w->capdirs, w->ndirs + 1, sizeof *w->dirs);
    memmove(w->dirs + lo + 1, w->dirs + lo, (w->ndirs - lo) * sizeof *w->dirs);
    w->dirs[lo] = id;
    w->ndirs++;
    return true;
}

static bool included(const walk_opts *o, const char *rel)
{
    if (!o->ninclude) return true;
    const char *name = strrchr(rel, '/');
    name = name ? name + 1 : rel;
    for (size_t i = 0; i < o->ninclude; i++) {
        const char *g = o->include[i];
        bool anchored = strchr(g, '/') != NULL;
        if (ignore_glob(g[0] == '/' ? g + 1 : g, anchored ? rel : name)) return true;
    }
    return false;
}

/* Walk dir (opened as `dir`, absolute `abs`); rel is the path relative to
 * the argument ("" at its root), key_prefix what ids start with. */
static void walk(walker *w, const char *dir, const char *abs, const char *rel,
                 const char *key_prefix, const ignore_rules *parent_rules)
{
    struct stat ds;
    if (stat(dir, &ds) == 0 && !dir_first_visit(w, (dir_id){ds.st_dev, ds.st_ino})) {
        log_write(LOG_WARN, "skipping a directory already walked (a symbolic link loop?)", "dir",
                  dir, NULL);
        return;
    }
    DIR *dh = opendir(dir);
    if (!dh) {
        log_write(LOG_WARN, "cannot read directory", "dir", dir, NULL);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    bool has_ignore = false;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        if (!strcmp(de->d_name, ".ragdignore")) has_ignore = true;
        if (de->d_name[0] == '.') continue;
        ragd_array_grow((void **)&names, &cap, n + 1, sizeof *names);
        names[n++] = ragd_xstrdup(de->d_name);
    }
    closedir(dh);
    ignore_rules *rules = NULL;
    if (has_ignore) {
        rules = ignore_new(rel, parent_rules);
        ragd_buf f = RAGD_BUF_INIT;
        ragd_buf_printf(&f, "%s/.ragdignore", dir);
        ragd_error e;
        if (ignore_add_file(rules, f.data, &e)) log_write(LOG_WARN, e.msg, "dir", dir, NULL);
        ragd_buf_free(&f);
    }
    const ignore_rules *here = rules ? rules : parent_rules;
    if (n) qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        ragd_buf p = RAGD_BUF_INIT, r = RAGD_BUF_INIT, k = RAGD_BUF_INIT, ab = RAGD_BUF_INIT;
        ragd_buf_printf(&p, "%s/%s", dir, names[i]);
        ragd_buf_printf(&ab, "%s/%s", strcmp(abs, "/") ? abs : "", names[i]);
        if (rel[0])
            ragd_buf_printf(&r, "%s/%s", rel, names[i]);
        else
            ragd_buf_puts(&r, names[i]);
        if (key_prefix[0])
            ragd_buf_printf(&k, "%s/%s", key_prefix, r.data);
        else
            ragd_buf_puts(&k, r.data);
        struct stat sb;
        bool ok = stat(p.data, &sb) == 0;
        bool is_dir = ok && S_ISDIR(sb.st_mode);
        const char *reason = NULL;
        if (ignore_match(here, r.data, is_dir) > 0)
            reason = "excluded";
        else if (!is_dir && !included(w->o, r.data))
            reason = "excluded";
        else if (!is_dir)
            reason = skip_reason(names[i]);
        if (reason && !is_dir) {
            w->stats->walked++;
            walk_skip(w->stats, w->o->verbose, p.data, reason);
        } else if (reason) {
            if (w->o->verbose)
                log_write(LOG_INFO, "skipped", "dir", p.data, "reason", reason, NULL);
        } else if (is_dir) {
            walk(w, p.data, ab.data, r.data, key_prefix, here);
        } else {
            /* Regular files, and anything else (broken links, FIFOs) so the
             * reader reports them by name. */
            w->stats->walked++;
            file_add(w->out, p.data, k.data, ab.data, ok ? sb.st_size : 0, true);
        }
        ragd_buf_free(&p);
        ragd_buf_free(&r);
        ragd_buf_free(&k);
        ragd_buf_free(&ab);
        free(names[i]);
    }
    free(names);
    ignore_free(rules);
}

void walk_inputs(char *const *paths, size_t npaths, const walk_opts *o, file_list *out,
                 walk_stats *stats)
{
    walker w = {.o = o, .stats = stats, .out = out};
    ignore_rules *root = NULL;
    if (o->nexclude) {
        root = ignore_new("", NULL);
        for (size_t i = 0; i < o->nexclude; i++)
            ignore_add(root, o->exclude[i]);
    }
    size_t ndirs = 0;
    for (size_t i = 0; i < npaths; i++) {
        struct stat sb;
        ndirs += stat(paths[i], &sb) == 0 && S_ISDIR(sb.st_mode);
    }
    for (size_t i = 0; i < npaths; i++) {
        struct stat sb;
        const char *p = paths[i];
        char *abs = path_absolute(p);
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            size_t len = strlen(p);
            char *dir = ragd_xstrdup(p);
            while (len > 1 && dir[len - 1] == '/')
                dir[--len] = '\0';
            walk(&w, dir, abs, "", ndirs > 1 ? path_last(abs) : "", root);
            free(dir);
        } else {
            const char *slash = strrchr(p, '/');
            file_add(out, p, slash && slash[1] ? slash + 1 : p, abs,
                     stat(p, &sb) == 0 ? sb.st_size : 0, false);
        }
        free(abs);
    }
    ignore_free(root);
    free(w.dirs);
}
