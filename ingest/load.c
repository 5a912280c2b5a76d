/* ingest/load.c — reading files, detecting formats, validating and
 * normalizing text, and parsing its block structure (plain text and Markdown).
 *
 * The Markdown parser is line-based and deliberately small: it recognizes
 * what chunking needs — ATX and setext headings (for heading paths), fenced
 * code blocks and tables (never split mid-line), lists, quotes and
 * paragraphs. Plain text that is a rendered man page (`man tar | col -b`:
 * "TAR(1) ... TAR(1)" on the first line) gets its section headings as
 * headings and its NAME line as title. The
 * document text stored is the normalized Markdown source itself, so every
 * chunk is an exact slice of it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/text.h"
#include "ingest/ingest.h"
#include "ingest/loaders.h"

void ingest_doc_free(ingest_doc *d)
{
    if (!d) return;
    free(d->text);
    free(d->title);
    free(d->blocks);
    for (size_t i = 0; i < d->nsections; i++)
        free(d->sections[i].heading_path);
    free(d->sections);
    free(d->metadata_json);
    free(d->page_starts);
    memset(d, 0, sizeof *d);
}

int ingest_doc_page_at(const ingest_doc *d, size_t off)
{
    if (!d || !d->npages) return 0;
    size_t lo = 0, hi = d->npages; /* first page starting after off */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->page_starts[mid] <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? (int)lo : 1;
}

static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot + 1 : "";
}

/* Case-insensitive prefix test. */
static bool has_prefix_ci(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && strncasecmp(s, prefix, k) == 0;
}

/* Sniff HTML: "<!doctype html" or "<html" after a BOM and whitespace. */
static bool looks_like_html(const char *head, size_t n)
{
    size_t i = 0;
    if (n >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0) i = 3;
    while (i < n && isspace((unsigned char)head[i]))
        i++;
    return has_prefix_ci(head + i, n - i, "<!doctype html") ||
           has_prefix_ci(head + i, n - i, "<html");
}

/* Legacy 8-bit text (Latin-1, Windows-1252; ingest/encoding.h converts
 * it): no control bytes but tab, newlines and form feed, and mostly ASCII. */
static bool looks_like_8bit_text(const char *s, size_t n)
{
    size_t high = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') return false;
        if (c == 0x7F) return false;
        high += c >= 0x80;
    }
    return high * 4 < n;
}

const char *ingest_detect_format(const char *path, const char *hint, const char *head,
                                 size_t head_len, ragd_error *err)
{
    if (hint && *hint && strcmp(hint, "auto") != 0) {
        if (!strcmp(hint, "txt") || !strcmp(hint, "text")) return "txt";
        if (!strcmp(hint, "md") || !strcmp(hint, "markdown")) return "md";
        if (!strcmp(hint, "jsonl")) return "jsonl";
        if (!strcmp(hint, "html") || !strcmp(hint, "htm")) return "html";
        if (!strcmp(hint, "pdf")) return "pdf";
        ragd_error_set(err, RAGD_EUSAGE,
                       "unsupported --format '%s' (supported: auto, txt, md, html, pdf, jsonl)",
                       hint);
        return NULL;
    }
    const char *ext = ext_of(path);
    if (!strcasecmp(ext, "md") || !strcasecmp(ext, "markdown") || !strcasecmp(ext, "mdown"))
        return "md";
    if (!strcasecmp(ext, "txt") || !strcasecmp(ext, "text")) return "txt";
    if (!strcasecmp(ext, "jsonl")) return "jsonl";
    if (!strcasecmp(ext, "html") || !strcasecmp(ext, "htm") || !strcasecmp(ext, "xhtml"))
        return "html";
    if (!strcasecmp(ext, "pdf")) return "pdf";
    static const char *const UNSUPPORTED[] = {"docx", "doc",  "odt",  "rtf",
                                              "epub", "xlsx", "pptx", NULL};
    for (int i = 0; UNSUPPORTED[i]; i++)
        if (!strcasecmp(ext, UNSUPPORTED[i])) {
            ragd_error_set(err, RAGD_EINPUT,
                           "unsupported format '%s' (supported: txt, md, html, pdf, jsonl); "
                           "convert it to text or force one with --format",
                           UNSUPPORTED[i]);
            return NULL;
        }
    /* Unknown extension: sniff PDF and HTML signatures first (a PDF is
     * binary), then text. Binary if it has NUL bytes or invalid UTF-8
     * (allowing a sequence cut by the end of the sniffed window). */
    if (head_len >= 5 && memcmp(head, "%PDF-", 5) == 0) return "pdf";
    if (looks_like_html(head, head_len)) return "html";
    size_t bad = 0;
    const char *why = NULL;
    if (memchr(head, '\0', head_len)) {
        ragd_error_set(err, RAGD_EINPUT, "binary file (NUL bytes); not a text document");
        return NULL;
    }
    if (!text_utf8_check(head, head_len, &bad, &why) && head_len - bad > 4 &&
        !looks_like_8bit_text(head, head_len)) {
        ragd_error_set(err, RAGD_EINPUT, "binary file (not UTF-8 text at byte %zu)", bad);
        return NULL;
    }
    return "txt";
}

ragd_status ingest_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len,
                             ragd_error *err)
{
    *out = NULL;
    *out_len = 0;
    if (!max_bytes) max_bytes = INGEST_DEFAULT_MAX_BYTES;
    /* O_NONBLOCK so a FIFO cannot hang us; we reject non-regular files anyway. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return ragd_error_set(err, RAGD_EINPUT,
                                  "cannot open: file vanished or is a broken "
                                  "link");
        return ragd_error_set(err, RAGD_EINPUT, "cannot open: %s", strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return ragd_error_set(err, RAGD_EINPUT, "cannot stat: %s", strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return ragd_error_set(err, RAGD_EINPUT, "not a regular file");
    }
    if ((size_t)sb.st_size > max_bytes) {
        close(fd);
        return ragd_error_set(err, RAGD_EINPUT,
                              "file too large: %.1f MB exceeds the %.1f MB limit (--max-bytes)",
                              sb.st_size / 1048576.0, max_bytes / 1048576.0);
    }
    size_t cap = (size_t)sb.st_size + 1, len = 0;
    char *buf = ragd_xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            if (cap > max_bytes + 1) {
                free(buf);
                close(fd);
                return ragd_error_set(err, RAGD_EINPUT,
                                      "file too large: grew past the %.1f MB limit (--max-bytes)",
                                      max_bytes / 1048576.0);
            }
            cap *= 2;
            buf = ragd_xrealloc(buf, cap);
        }
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(buf);
            close(fd);
            return ragd_error_set(err, RAGD_EINPUT, "cannot read: %s", strerror(e));
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return RAGD_OK;
}

/* --- structure -------------------------------------------------------------- */

typedef struct {
    ingest_doc *d;
    size_t capb, caps;
    char *stack[7]; /* heading texts by level 1..6 (borrowed from text) */
    size_t stacklen[7];
    bool man; /* a man page: its title is the NAME line, not a heading */
} parser;

static void add_block(parser *p, block_kind k, size_t s, size_t e, int level)
{
    ingest_doc *d = p->d;
    /* Merge consecutive paragraph lines / rows / items into one block. */
    ragd_array_grow((void **)&d->blocks, &p->capb, d->nblocks + 1, sizeof *d->blocks);
    ingest_block *b = &d->blocks[d->nblocks++];
    b->kind = k;
    b->start = s;
    b->end = e;
    b->level = level;
    b->section = d->nsections ? (int)d->nsections - 1 : 0;
}

/* The length of s[0..n) cut to at most max bytes at a UTF-8 character
 * boundary; *cut tells whether anything was dropped. */
static size_t cap_len(const char *s, size_t n, size_t max, bool *cut)
{
    *cut = n > max;
    if (n <= max) return n;
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
        k--;
    return k;
}

/* Append s[0..n) to b, at most max bytes of it, with "…" when cut. */
static void append_capped(ragd_buf *b, const char *s, size_t n, size_t max)
{
    bool cut;
    ragd_buf_append(b, s, cap_len(s, n, max, &cut));
    if (cut) ragd_buf_puts(b, "\u2026");
}

/* *s, a malloc'd string, cut to INGEST_TITLE_MAX bytes (with "…"). */
static void cap_title(char **s)
{
    if (!*s) return;
    size_t n = strlen(*s);
    if (n <= INGEST_TITLE_MAX) return;
    ragd_buf b = RAGD_BUF_INIT;
    append_capped(&b, *s, n, INGEST_TITLE_MAX);
    free(*s);
    *s = ragd_buf_steal(&b);
}

static void add_section(parser *p, size_t start, bool has_heading)
{
    ingest_doc *d = p->d;
    ragd_buf path = RAGD_BUF_INIT;
    for (int l = 1; l <= 6; l++) {
        if (!p->stack[l]) continue;
        if (path.len) ragd_buf_puts(&path, " > ");
        append_capped(&path, p->stack[l], p->stacklen[l], INGEST_HEADING_MAX);
    }
    if (path.len > INGEST_HEADING_PATH_MAX) {
        ragd_buf capped = RAGD_BUF_INIT;
        append_capped(&capped, path.data, path.len, INGEST_HEADING_PATH_MAX);
        ragd_buf_free(&path);
        path = capped;
    }
    ragd_array_grow((void **)&d->sections, &p->caps, d->nsections + 1, sizeof *d->sections);
    ingest_section *s = &d->sections[d->nsections++];
    s->start = start;
    s->heading_path = ragd_buf_steal(&path);
    s->has_heading = has_heading;
}

static size_t line_end(const char *t, size_t n, size_t i)
{
    const char *nl = memchr(t + i, '\n', n - i);
    return nl ? (size_t)(nl - t) : n;
}

static bool is_blank(const char *t, size_t s, size_t e)
{
    for (size_t i = s; i < e; i++)
        if (!isspace((unsigned char)t[i])) return false;
    return true;
}

static size_t skip_indent(const char *t, size_t s, size_t e, size_t max)
{
    size_t i = s;
    while (i < e && i - s < max && t[i] == ' ')
        i++;
    return i;
}

static int atx_level(const char *t, size_t s, size_t e, size_t *text_start, size_t *text_end)
{
    size_t i = skip_indent(t, s, e, 3);
    int level = 0;
    while (i < e && t[i] == '#' && level < 7)
        i++, level++;
    if (level < 1 || level > 6) return 0;
    if (i < e && t[i] != ' ' && t[i] != '\t') return 0;
    while (i < e && (t[i] == ' ' || t[i] == '\t'))
        i++;
    size_t j = e;
    while (j > i && (t[j - 1] == ' ' || t[j - 1] == '\t'))
        j--;
    /* Optional closing #'s. */
    size_t k = j;
    while (k > i && t[k - 1] == '#')
        k--;
    if (k < j && (k == i || t[k - 1] == ' ')) {
        j = k;
        while (j > i && t[j - 1] == ' ')
            j--;
    }
    *text_start = i;
    *text_end = j;
    return level;
}

static bool fence_open(const char *t, size_t s, size_t e, char *ch, size_t *len)
{
    size_t i = skip_indent(t, s, e, 3);
    if (i >= e || (t[i] != '`' && t[i] != '~')) return false;
    size_t j = i;
    while (j < e && t[j] == t[i])
        j++;
    if (j - i < 3) return false;
    *ch = t[i];
    *len = j - i;
    return true;
}

static bool fence_close(const char *t, size_t s, size_t e, char ch, size_t len)
{
    size_t i = skip_indent(t, s, e, 3);
    size_t j = i;
    while (j < e && t[j] == ch)
        j++;
    return j - i >= len && is_blank(t, j, e);
}

static bool is_table_line(const char *t, size_t s, size_t e)
{
    size_t i = skip_indent(t, s, e, 3);
    return i < e && t[i] == '|';
}

static bool is_list_line(const char *t, size_t s, size_t e)
{
    size_t i = skip_indent(t, s, e, 8);
    if (i + 1 < e && (t[i] == '-' || t[i] == '*' || t[i] == '+') && t[i + 1] == ' ') return true;
    size_t j = i;
    while (j < e && isdigit((unsigned char)t[j]) && j - i < 9)
        j++;
    return j > i && j + 1 < e && (t[j] == '.' || t[j] == ')') && t[j + 1] == ' ';
}

static bool is_quote_line(const char *t, size_t s, size_t e)
{
    size_t i = skip_indent(t, s, e, 3);
    return i < e && t[i] == '>';
}

/* Heading text as a title: "![alt](logo.png)" -> "alt", "[text](url)" ->
 * "text", backticks dropped. Malloc'd. */
static char *md_plain(const char *s, size_t n)
{
    ragd_buf b = RAGD_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '`') continue;
        if (s[i] == '!' && i + 1 < n && s[i + 1] == '[') continue;
        if (s[i] == '[') {
            const char *close = memchr(s + i, ']', n - i);
            if (close && (size_t)(close - s) + 1 < n && close[1] == '(') {
                const char *end = memchr(close, ')', n - (size_t)(close - s));
                if (end) {
                    for (const char *p = s + i + 1; p < close; p++)
                        if (*p != '`') ragd_buf_putc(&b, *p);
                    i = (size_t)(end - s);
                    continue;
                }
            }
        }
        ragd_buf_putc(&b, s[i]);
    }
    size_t k = 0;
    while (k < b.len && b.data[k] == ' ')
        k++;
    char *out = ragd_xstrdup(b.data ? b.data + k : "");
    ragd_buf_free(&b);
    return out;
}

/* A heading of `level` whose text is t[hs, he), its block spanning [s, e). */
static void push_heading(parser *p, size_t s, size_t e, int level, size_t hs, size_t he)
{
    ingest_doc *d = p->d;
    const char *t = d->text;
    p->stack[level] = (char *)t + hs;
    p->stacklen[level] = he - hs;
    for (int l = level + 1; l <= 6; l++)
        p->stack[l] = NULL;
    add_section(p, s, true);
    add_block(p, BLOCK_HEADING, s, e, level);
    if (!d->title && !p->man && level == 1 && he > hs) {
        char *plain = md_plain(t + hs, he - hs);
        ragd_buf tb = RAGD_BUF_INIT;
        append_capped(&tb, plain, strlen(plain), INGEST_TITLE_MAX);
        free(plain);
        if (tb.len)
            d->title = ragd_buf_steal(&tb);
        else
            ragd_buf_free(&tb);
    }
}

/* A setext underline: "===" (level 1) or "---" (level 2), up to 3 spaces
 * of indent, trailing spaces allowed; 0 otherwise. */
static int setext_level(const char *t, size_t s, size_t e)
{
    size_t i = skip_indent(t, s, e, 3);
    if (i >= e || (t[i] != '=' && t[i] != '-')) return 0;
    char c = t[i];
    while (i < e && t[i] == c)
        i++;
    while (i < e && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r'))
        i++;
    return i == e ? (c == '=' ? 1 : 2) : 0;
}

static void parse_markdown(parser *p)
{
    ingest_doc *d = p->d;
    const char *t = d->text;
    size_t n = d->len, i = 0;
    add_section(p, 0, false);
    while (i < n) {
        size_t e = line_end(t, n, i);
        if (is_blank(t, i, e)) {
            i = e + 1;
            continue;
        }
        size_t hs, he;
        char fch;
        size_t flen;
        int level = atx_level(t, i, e, &hs, &he);
        if (level) {
            push_heading(p, i, e, level, hs, he);
            i = e + 1;
            continue;
        }
        /* Setext: one line of text over "===" / "---" (a one-line
         * paragraph only, so YAML front matter stays text). */
        if (e < n && !is_table_line(t, i, e) && !is_list_line(t, i, e) && !is_quote_line(t, i, e) &&
            !fence_open(t, i, e, &fch, &flen) && setext_level(t, i, e) == 0) {
            size_t ue = line_end(t, n, e + 1);
            int sl = setext_level(t, e + 1, ue);
            if (sl) {
                hs = skip_indent(t, i, e, 3);
                he = e;
                while (he > hs && isspace((unsigned char)t[he - 1]))
                    he--;
                push_heading(p, i, ue, sl, hs, he);
                i = ue + 1;
                continue;
            }
        }
        if (fence_open(t, i, e, &fch, &flen)) {
            size_t s = i, j = e + 1, last = e;
            while (j < n) {
                size_t le = line_end(t, n, j);
                last = le;
                if (fence_close(t, j, le, fch, flen)) break;
                j = le + 1;
            }
            if (j >= n) last = n; /* unclosed fence runs to the end */
            add_block(p, BLOCK_CODE, s, last, 0);
            i = last + 1;
            continue;
        }
        block_kind k = BLOCK_PARA;
        bool (*same)(const char *, size_t, size_t) = NULL;
        if (is_table_line(t, i, e))
            k = BLOCK_TABLE, same = is_table_line;
        else if (is_list_line(t, i, e))
            k = BLOCK_LIST;
        else if (is_quote_line(t, i, e))
            k = BLOCK_QUOTE, same = is_quote_line;
        size_t s = i, last = e;
        i = e + 1;
        while (i < n) {
            size_t le = line_end(t, n, i);
            if (is_blank(t, i, le)) break;
            size_t a, b;
            char c2;
            size_t l2;
            if (atx_level(t, i, le, &a, &b) || fence_open(t, i, le, &c2, &l2)) break;
            if (same) {
                if (!same(t, i, le)) break;
            } else if (k == BLOCK_PARA) {
                if (is_table_line(t, i, le) || is_list_line(t, i, le) || is_quote_line(t, i, le))
                    break;
            } else if (k == BLOCK_LIST) {
                if (is_table_line(t, i, le) || is_quote_line(t, i, le)) break;
            }
            last = le;
            i = le + 1;
        }
        add_block(p, k, s, last, 0);
    }
}

/* A rendered man page ("TAR(1)   GNU TAR Manual   TAR(1)" on its first
 * line, as `man tar | col -b` prints it)? */
static bool is_man_page(const char *t, size_t n)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)t[i]))
        i++;
    size_t e = line_end(t, n, i);
    /* NAME(SECTION) at both ends of the line */
    size_t k = i;
    while (k < e && !isspace((unsigned char)t[k]) && t[k] != '(')
        k++;
    if (k == i || k >= e || t[k] != '(') return false;
    const char *close = memchr(t + k, ')', e - k);
    if (!close || close - (t + k) > 8) return false;
    size_t idl = (size_t)(close - t) + 1 - i; /* "TAR(1)" */
    size_t j = e;
    while (j > i && isspace((unsigned char)t[j - 1]))
        j--;
    return j - i > 2 * idl && !memcmp(t + i, t + j - idl, idl);
}

/* Man page structure: section headings at column 0 in capitals (NAME,
 * SYNOPSIS, SEE ALSO) are level 1, subsection headings indented by 1-3 spaces
 * and followed by a deeper-indented line are level 2; other lines group
 * into paragraphs. The title is the NAME section's first line. */
/* Columns of indent of line [s, e) (tabs to multiples of 8, as col(1)
 * writes them); *bytes: the indent's length in bytes. */
static size_t indent_of(const char *t, size_t s, size_t e, size_t *bytes)
{
    size_t cols = 0, i = s;
    for (; i < e && (t[i] == ' ' || t[i] == '\t'); i++)
        cols = t[i] == '\t' ? (cols / 8 + 1) * 8 : cols + 1;
    *bytes = i - s;
    return cols;
}

static void parse_man(parser *p)
{
    ingest_doc *d = p->d;
    const char *t = d->text;
    size_t n = d->len, i = 0;
    add_section(p, 0, false);
    p->man = true;
    bool first = true, in_name = false;
    while (i < n) {
        size_t e = line_end(t, n, i);
        if (is_blank(t, i, e)) {
            i = e + 1;
            continue;
        }
        size_t ib, nb;
        size_t ind = indent_of(t, i, e, &ib);
        size_t he = e;
        while (he > i && isspace((unsigned char)t[he - 1]))
            he--;
        size_t ne = e < n ? line_end(t, n, e + 1) : e;
        size_t nind = e < n ? indent_of(t, e + 1, ne, &nb) : 0;
        int level = 0;
        if (!first && he - i <= 60) {
            bool upper = true; /* "SEE ALSO", not the "GNU tar 1.34 ..." footer */
            for (size_t k = i; k < he && upper; k++)
                upper = !(t[k] >= 'a' && t[k] <= 'z');
            if (ind == 0 && upper) level = 1;
            if (ind >= 1 && ind <= 3 && nind > ind && e < n) level = 2;
        }
        if (first) { /* the "TAR(1) ... TAR(1)" line */
            add_block(p, BLOCK_PARA, i, e, 0);
            first = false;
            i = e + 1;
            continue;
        }
        if (level) {
            push_heading(p, i, e, level, i + ib, he);
            in_name = level == 1 && he - i == 4 && !memcmp(t + i, "NAME", 4);
            i = e + 1;
            continue;
        }
        if (in_name && !d->title) d->title = ragd_xstrndup(t + i + ib, he - i - ib);
        in_name = false;
        size_t s = i, last = e;
        i = e + 1;
        while (i < n) {
            size_t le = line_end(t, n, i);
            if (is_blank(t, i, le) || (t[i] != ' ' && t[i] != '\t')) break;
            size_t kb, nkb;
            size_t k = indent_of(t, i, le, &kb);
            size_t nl = le < n ? line_end(t, n, le + 1) : le;
            size_t nk = le < n ? indent_of(t, le + 1, nl, &nkb) : 0;
            if (k >= 1 && k <= 3 && nk > k && le - i <= 60) break; /* a subsection */
            last = le;
            i = le + 1;
        }
        add_block(p, BLOCK_PARA, s, last, 0);
    }
}

static void parse_text(parser *p)
{
    ingest_doc *d = p->d;
    const char *t = d->text;
    size_t n = d->len, i = 0;
    add_section(p, 0, false);
    while (i < n) {
        size_t e = line_end(t, n, i);
        if (is_blank(t, i, e)) {
            i = e + 1;
            continue;
        }
        size_t s = i, last = e;
        i = e + 1;
        while (i < n) {
            size_t le = line_end(t, n, i);
            if (is_blank(t, i, le)) break;
            last = le;
            i = le + 1;
        }
        add_block(p, BLOCK_PARA, s, last, 0);
    }
}

/* Title of plain text: its first line when short and not a sentence run-on. */
static char *text_title(const char *t, size_t n)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)t[i]))
        i++;
    size_t e = line_end(t, n, i);
    while (e > i && isspace((unsigned char)t[e - 1]))
        e--;
    if (e > i && e - i <= 120) return ragd_xstrndup(t + i, e - i);
    return NULL;
}

/* Validate raw bytes as UTF-8 text and normalize them into *out. */
static ragd_status validate_normalize(const char *raw, size_t n, char **out, size_t *out_len,
                                      ragd_error *err)
{
    size_t bad = 0;
    const char *why = NULL;
    if (!text_utf8_check(raw, n, &bad, &why)) {
        size_t line = 1;
        for (size_t i = 0; i < bad; i++)
            line += raw[i] == '\n';
        return ragd_error_set(err, RAGD_EINPUT,
                              "%s at byte %zu (line %zu); convert the file "
                              "to UTF-8 text",
                              why, bad, line);
    }
    return text_normalize(raw, n, out, out_len, err);
}

ragd_status ingest_parse_structure(ingest_doc *d, const char *structure, const char *fallback_title,
                                   ragd_error *err)
{
    if (is_blank(d->text, 0, d->len)) {
        ingest_doc_free(d);
        return ragd_error_set(err, RAGD_ENOTFOUND, "only whitespace, nothing to index; skipped");
    }
    parser p = {.d = d};
    if (!strcmp(structure, "md")) {
        parse_markdown(&p);
    } else if (is_man_page(d->text, d->len)) {
        parse_man(&p);
        if (!d->title) d->title = text_title(d->text, d->len);
    } else {
        parse_text(&p);
        if (!d->title) d->title = text_title(d->text, d->len);
    }
    if (!d->title) d->title = ragd_xstrdup(fallback_title ? fallback_title : "");
    cap_title(&d->title);
    return RAGD_OK;
}

ragd_status ingest_parse(const char *raw, size_t n, const char *format, const char *fallback_title,
                         ingest_doc *d, ragd_error *err)
{
    memset(d, 0, sizeof *d);
    if (n == 0) return ragd_error_set(err, RAGD_EINPUT, "empty file");
    if (!strcmp(format, "html")) return ingest_load_html(raw, n, fallback_title, d, err);
    if (!strcmp(format, "pdf")) return ingest_load_pdf(raw, n, fallback_title, d, err);
    ragd_status rc = validate_normalize(raw, n, &d->text, &d->len, err);
    if (rc) return rc;
    bool md = !strcmp(format, "md");
    d->format = md ? "md" : "txt";
    return ingest_parse_structure(d, md ? "md" : "txt", fallback_title, err);
}

ragd_status ingest_parse_markdown(const char *md, size_t n, const char *format, const char *title,
                                  const char *fallback_title, ingest_doc *d, ragd_error *err)
{
    ragd_status rc = validate_normalize(md, n, &d->text, &d->len, err);
    if (rc) return rc;
    d->format = format;
    if (title && *title) {
        /* The title is shown and indexed as one line. */
        char *t = NULL;
        size_t tl = 0;
        if (validate_normalize(title, strlen(title), &t, &tl, NULL) == RAGD_OK) d->title = t;
    }
    return ingest_parse_structure(d, "md", fallback_title, err);
}
