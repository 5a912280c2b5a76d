/* tests/unit_provider.c — embedders (provider/provider.h).
 *
 * The local hashing embedder: determinism, norms, dimensions, a golden
 * vector, and the similarities it promises (reordered words, inflections,
 * typos, case and diacritics). The remote embedders against the mock model
 * server (tests/mock_server.c): OpenAI and Ollama protocols with batching
 * and connection reuse, dimension probing and checks, the retry policy
 * (429 + Retry-After in seconds and as a date, 5xx, hangs past the timeout,
 * malformed JSON retried once, 4xx never), connection refused, bearer keys,
 * and the fallback chain. Backoffs are 10 ms so the whole file runs in a few
 * seconds; the only long waits are the Retry-After ones it tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/text.h"
#include "index/lexical.h"
#include "provider/provider.h"
#include "tests/mock_server.h"
#include "tests/unit_helpers.h"

/* --- helpers ------------------------------------------------------------------ */

static double cosine(const float *a, const float *b, int dim)
{
    double d = 0, na = 0, nb = 0;
    for (int i = 0; i < dim; i++) {
        d += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    return na > 0 && nb > 0 ? d / sqrt(na * nb) : 0;
}

static double local_cos(const char *x, const char *y)
{
    float a[384], b[384];
    local_embed_text(x, strlen(x), 384, a);
    local_embed_text(y, strlen(y), 384, b);
    return cosine(a, b, 384);
}

static double l2(const float *v, int dim)
{
    double s = 0;
    for (int i = 0; i < dim; i++)
        s += (double)v[i] * v[i];
    return sqrt(s);
}

static mock_server *start_mock(int dim, int reverse, int no_usage, const char *key)
{
    mock_config mc;
    memset(&mc, 0, sizeof mc);
    mc.dim = dim;
    mc.reverse = reverse;
    mc.no_usage = no_usage;
    mc.api_key = key;
    mock_server *m = mock_server_start(&mc);
    assert_non_null(m);
    return m;
}

/* A remote config for the mock at port: openai base ".../v1", ollama base
 * "http://127.0.0.1:port". Small backoff, 3 s timeout unless changed. */
static embedder_config remote_cfg(const char *kind, int port, char *urlbuf, size_t urlsz)
{
    snprintf(urlbuf, urlsz, "http://127.0.0.1:%d%s", port,
             strcmp(kind, "openai") == 0 ? "/v1" : "");
    embedder_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.url = urlbuf;
    c.model = "mock-embed";
    c.dim = 384;
    c.timeout_s = 3;
    c.backoff_base_s = 0.01;
    return c;
}

static ragd_embedder *make(const embedder_config *c)
{
    ragd_embedder *e = NULL;
    ragd_error err;
    ragd_error_clear(&err);
    ragd_status rc = embedder_new(c, &e, &err);
    if (rc != RAGD_OK) fprintf(stderr, "embedder_new: %s\n", err.msg);
    assert_int_equal(rc, RAGD_OK);
    return e;
}

/* Check out[i] == local_embed_text(texts[i], dim) exactly. */
static void expect_local_vectors(const char *const *texts, size_t n, const float *out, int dim)
{
    float *want = malloc((size_t)dim * sizeof *want);
    for (size_t i = 0; i < n; i++) {
        local_embed_text(texts[i], strlen(texts[i]), dim, want);
        assert_memory_equal(out + i * (size_t)dim, want, (size_t)dim * sizeof *want);
    }
    free(want);
}

/* Embed one text; returns the status, fills err and usage. */
static ragd_status embed_one(ragd_embedder *e, const char *text, embed_usage *u, ragd_error *err)
{
    float v[384];
    const char *t[1] = {text};
    ragd_error_clear(err);
    return embedder_embed(e, t, NULL, 1, v, u, err);
}

/* --- local embedder ------------------------------------------------------------- */

static void test_local_deterministic_unit_norm(void **state)
{
    (void)state;
    const char *t = "Greyhollow Light was first exhibited on 1 November 1847.";
    int dims[] = {8, 64, 384, 1000};
    for (size_t k = 0; k < sizeof dims / sizeof *dims; k++) {
        int d = dims[k];
        float *a = malloc((size_t)d * sizeof *a), *b = malloc((size_t)d * sizeof *b);
        local_embed_text(t, strlen(t), d, a);
        local_embed_text(t, strlen(t), d, b);
        assert_memory_equal(a, b, (size_t)d * sizeof *a);
        assert_true(fabs(l2(a, d) - 1.0) < 1e-5);
        free(a);
        free(b);
    }
    /* Nothing to hash: all zeros. Since v2, stopwords contribute no feature
     * at all, so a stopword-only text is all zeros too. */
    float v[64];
    const char *empties[] = {"", "   \n\t ", "!!! ... ---", "\xF0\x9F\x98\x80"};
    for (size_t k = 0; k < sizeof empties / sizeof *empties; k++) {
        for (int i = 0; i < 64; i++)
            v[i] = 1.0f;
        local_embed_text(empties[k], strlen(empties[k]), 64, v);
        assert_true(l2(v, 64) == 0.0);
    }
    local_embed_text("the of and", 10, 64, v);
    assert_true(l2(v, 64) == 0.0);
    local_embed_text("the ocean", 9, 64, v);
    assert_true(fabs(l2(v, 64) - 1.0) < 1e-5);
}

/* The model is frozen: the same text gives the same floats on every platform
 * and build. If this fails, the local model changed — bump its name. */
static void test_local_golden_vector(void **state)
{
    (void)state;
    static const float want[16] = {-0.10191343f,   0.246040776f,  0.207421973f, -0.289140344f,
                                   0.144127354f,   0.268945307f,  0.147722468f, 0.246516839f,
                                   -0.294083238f,  0.10191343f,   0.19799833f,  -0.618723333f,
                                   -0.0058285268f, -0.254102707f, 0.149955884f, -0.144127354f};
    float v[16];
    const char *t = "Hello, World! Retrieval-augmented generation.";
    local_embed_text(t, strlen(t), 16, v);
    int ok = 1;
    for (int i = 0; i < 16; i++)
        ok &= fabsf(v[i] - want[i]) < 1e-6f;
    if (!ok) {
        fprintf(stderr, "got:");
        for (int i = 0; i < 16; i++)
            fprintf(stderr, " %.9gf,", v[i]);
        fprintf(stderr, "\n");
    }
    assert_true(ok);
}

/* FNV-1a 64 over the vector's float bit patterns (byte order independent). */
static uint64_t vec_checksum(const float *v, int dim)
{
    uint64_t h = 0xCBF29CE484222325ULL;
    for (int i = 0; i < dim; i++) {
        uint32_t b;
        memcpy(&b, &v[i], sizeof b);
        for (int k = 0; k < 4; k++) {
            h ^= (b >> (8 * k)) & 0xFF;
            h *= 0x100000001B3ULL;
        }
    }
    return h;
}

/* Bit-exact vectors at dims 384 to 5000: the dim-384 checksums were taken with the qsort-based
 * feature sort that ragd-local-hash-v2 shipped with; the radix sort that
 * replaced it must give the same bytes (stored collections keep matching new
 * queries). Texts with repeated features of different weights (shared
 * n-grams of words of different lengths), diacritics, U+2019, CJK, and a long
 * passage. A change here means the model changed: bump its name. */
static void test_local_bit_exact_checksums(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "Hello, World! Retrieval-augmented generation.",
        "run running runs runner run running runs runner; the runner runs a run while running",
        "Café naïve RÉSUMÉ coöperate – don’t stop: ünïcödé façade, façades, FAÇADE.",
        "检索增强生成 检索 生成 and mixed 日本語のテキスト",
        "Alterations of the architecture of cerebral white matter in the developing human brain "
        "can affect cortical development and result in functional disabilities. A line scan "
        "diffusion-weighted magnetic resonance imaging (MRI) sequence with diffusion tensor "
        "analysis was applied to measure the apparent diffusion coefficient, to calculate "
        "relative anisotropy, and to delineate three-dimensional fiber architecture in cerebral "
        "white matter in preterm (n = 17) and full-term infants (n = 7).",
    };
    /* dim 384 and 1000, 4096: the one-pass counting sort on the dimension;
     * 5000: the radix sort (provider/local.c ONE_PASS_DIMS). The rows for
     * 1000, 4096 and 5000 were taken with the two-pass radix sort. */
    static const int dims[] = {384, 1000, 4096, 5000};
    static const uint64_t want[][5] = {
        {0xA7D677B68DEA2791ULL, 0xD2160C7543F4F4EBULL, 0x55A3BBC31B988EAFULL, 0xD154CBFE734BE3F4ULL,
         0x79D6F058366A33D1ULL},
        {0x5DF55E8CDFE39370ULL, 0xC2BECDA81395AB75ULL, 0xACB81A3F142D56C1ULL, 0x1D63A6DCB09579F2ULL,
         0xAD082BE7B1856D61ULL},
        {0x47BF088445D5729EULL, 0x4957A532BC1214E1ULL, 0xC1F02447F5757E3EULL, 0xA5452B69446CC471ULL,
         0x6F8290187074F88EULL},
        {0xF9DAD69FF36CC094ULL, 0x6FF1A434899A1E55ULL, 0xEBD1553883ED1115ULL, 0x907BC18402E7B3CEULL,
         0x5F0FC7C8E31F2E74ULL},
    };
    static float v[5000];
    for (size_t d = 0; d < sizeof dims / sizeof *dims; d++) {
        for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
            local_embed_text(texts[t], strlen(texts[t]), dims[d], v);
            uint64_t got = vec_checksum(v, dims[d]);
            if (got != want[d][t])
                fprintf(stderr, "dim %d text %zu: got 0x%016llX\n", dims[d], t,
                        (unsigned long long)got);
            assert_true(got == want[d][t]);
        }
    }
}

/* The summation order the model fixes, pinned where it shows in the bits
 * (checksums taken with the sort-based embedder, before features were
 * accumulated in a hash table): at dim 16 "ender thunder sender pruning"
 * changes when a feature's occurrences of different weights are summed in
 * arrival order instead of ascending weight, the third when they are
 * summed in reverse arrival order, and "ender runners wonder" (and the
 * first) when a dimension's features are summed out of ascending hash
 * order. The texts above happen to be blind to all three. */
static void test_local_summation_order_pins(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t want;
    } pins[] = {
        {"ender thunder sender pruning", 0x05A9B2A5756EC796ULL},
        {"ender runners wonder", 0xC0C3A8D668F79683ULL},
        {"runners ran ran runner sender running under ran", 0x1BA911027EE49B6CULL},
    };
    float v[16];
    for (size_t i = 0; i < sizeof pins / sizeof *pins; i++) {
        local_embed_text(pins[i].text, strlen(pins[i].text), 16, v);
        uint64_t got = vec_checksum(v, 16);
        if (got != pins[i].want)
            fprintf(stderr, "%s: got 0x%016llX\n", pins[i].text, (unsigned long long)got);
        assert_true(got == pins[i].want);
    }
}

/* One scratch reused across texts and dimensions (as the semantic chunker
 * reuses it sentence after sentence) gives each text the vector a fresh
 * call gives: nothing of one text leaks into the next. */
static void test_local_scratch_reuse(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "run running runs runner run running runs runner",
        "",
        "the of and",
        "Café naïve RÉSUMÉ don’t façade, façades",
        "检索增强生成 日本語のテキスト",
        "ender thunder sender pruning ender runners wonder",
        "a much longer text about retrieval, retrieval-augmented generation and chunking "
        "that reaches many of the dimensions at once, repeated: retrieval, chunking.",
    };
    static const int dims[] = {16, 384, 4096, 16, 1000, 8};
    static float want[4096], got[4096];
    local_embed_scratch *ws = local_embed_scratch_new();
    for (size_t d = 0; d < sizeof dims / sizeof *dims; d++)
        for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
            local_embed_text(texts[t], strlen(texts[t]), dims[d], want);
            const uint32_t *idx;
            const float *val;
            size_t m = local_embed_sparse_ws(ws, texts[t], strlen(texts[t]), dims[d], &idx, &val);
            memset(got, 0, sizeof got);
            for (size_t k = 0; k < m; k++) {
                if (k) assert_true(idx[k] > idx[k - 1]);
                got[idx[k]] = val[k];
            }
            assert_memory_equal(got, want, (size_t)dims[d] * sizeof *got);
        }
    local_embed_scratch_free(ws);
    local_embed_scratch_free(NULL);
}

/* The word cache of a scratch (provider/local.c word_features): texts
 * whose words recur across texts, in ASCII, with accents, CJK and U+2019,
 * more distinct words than the cache holds (WORD_CACHE_MAX_WORDS, so it is emptied and
 * refilled along the way) and a word of 3,000 bytes: every vector equals
 * the one of a fresh scratch, bit for bit. */
static void test_local_word_cache(void **state)
{
    (void)state;
    static const char *const STEMS[] = {"run",          "caf\xC3\xA9", "don\xE2\x80\x99t",
                                        "\xE6\xA3\x80", "ender",       "x\xCC\x88",
                                        "the",          "of"};
    static char text[8192];
    static float want[4096], got[4096];
    static const int dims[] = {4096, 384, 16};
    local_embed_scratch *ws = local_embed_scratch_new();
    uint64_t seed = 42;
    for (int t = 0; t < 400; t++) {
        size_t n = 0;
        for (int k = 0; k < 100; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            uint64_t r = seed >> 33;
            const char *stem = STEMS[r % (sizeof STEMS / sizeof *STEMS)];
            n += (size_t)snprintf(text + n, sizeof text - n, "%s%u ", stem,
                                  (unsigned)((r >> 8) % (t < 200 ? 20000 : 300)));
        }
        if (t == 150) { /* a 3,000-byte word */
            memset(text + n, 'q', 3000);
            n += 3000;
        }
        int dim = dims[t % 3];
        local_embed_text(text, n, dim, want);
        local_embed_text_ws(ws, text, n, dim, got);
        assert_memory_equal(got, want, (size_t)dim * sizeof *got);
    }
    local_embed_scratch_free(ws);
}

/* embedder_embed keeps one scratch per local handle (provider/embedder.c):
 * every vector, over calls with texts of every size in random order (a
 * long text grows the table, the next short one reuses it), equals
 * local_embed_text's with a fresh scratch, bit for bit; and so do those
 * of a clone, which has its own. */
static void test_local_handle_scratch_matches_fresh(void **state)
{
    (void)state;
    static const char *const parts[] = {
        "a",
        "The ",
        "cells ",
        "\xff",
        "\xc3",
        "caf\xc3\xa9 ",
        "e\xcc\x81 ",
        "\xe4\xb8\xad\xe6\x96\x87",
        "\xea\xb0\x80 ",
        "\n",
        "p53 ",
        "\xef\xac\x81 ",
        "don\xe2\x80\x99t ",
        "of ",
        "-",
        "retrieval ",
    };
    const size_t np = sizeof parts / sizeof parts[0];
    embedder_config c;
    memset(&c, 0, sizeof c);
    c.kind = "local";
    c.dim = 384;
    ragd_embedder *e = make(&c);
    ragd_embedder *k = NULL;
    ragd_error err;
    assert_int_equal(embedder_clone(e, &k, &err), RAGD_OK);
    unsigned seed = 7;
    enum { N = 9 };
    float *out = malloc((size_t)N * 384 * sizeof *out);
    for (int round = 0; round < 60; round++) {
        char *texts[N];
        for (int i = 0; i < N; i++) {
            ragd_buf b = RAGD_BUF_INIT;
            size_t nparts =
                (size_t)(rand_r(&seed) % 5 == 0 ? rand_r(&seed) % 3000 : rand_r(&seed) % 12);
            for (size_t j = 0; j < nparts; j++)
                ragd_buf_puts(&b, parts[rand_r(&seed) % np]);
            texts[i] = b.data ? ragd_buf_steal(&b) : strdup("");
        }
        ragd_embedder *h = round % 2 ? k : e;
        assert_int_equal(embedder_embed(h, (const char *const *)texts, NULL, N, out, NULL, &err),
                         RAGD_OK);
        expect_local_vectors((const char *const *)texts, N, out, 384);
        for (int i = 0; i < N; i++)
            free(texts[i]);
    }
    free(out);
    embedder_free(k);
    embedder_free(e);
}

/* --- the local embedder against its definition --------------------------------
 *
 * ref_embed is ragd-local-hash-v2 written the slow way it was defined: every
 * feature occurrence listed as (dimension, hash, weight), the list sorted,
 * then summed in that order (a feature's occurrences by ascending weight, a
 * dimension's features by ascending hash, the norm over ascending
 * dimensions). provider/local.c computes the same vector without the list
 * (a hash table, a bitmap of dimensions, an ASCII n-gram path, three FNV
 * chains per word in one loop); test_local_matches_definition compares the
 * two bit for bit on random texts. The seeds and weights are the model's. */
#define REF_SEED_UNIGRAM 0x9E3779B97F4A7C15ULL
#define REF_SEED_BIGRAM 0xC2B2AE3D27D4EB4FULL
#define REF_SEED_CHARGRAM 0x165667B19E3779F9ULL
#define REF_FNV_OFFSET 0xCBF29CE484222325ULL
#define REF_FNV_PRIME 0x100000001B3ULL

static uint64_t ref_fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= REF_FNV_PRIME;
    }
    return h;
}

static uint64_t ref_fmix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDULL;
    k ^= k >> 33;
    k *= 0xC4CEB9FE1A85EC53ULL;
    k ^= k >> 33;
    return k;
}

typedef struct {
    uint32_t dim;
    uint64_t h;
    double w;
} ref_occ;

typedef struct {
    ref_occ *v;
    size_t n, cap;
    int dim;
} ref_list;

static void ref_push(ref_list *l, uint64_t h, double w)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    l->v[l->n++] = (ref_occ){(uint32_t)((h & 0x7FFFFFFFFFFFFFFFULL) % (uint64_t)l->dim), h, w};
}

static int ref_cmp(const void *a, const void *b)
{
    const ref_occ *x = a, *y = b;
    if (x->dim != y->dim) return x->dim < y->dim ? -1 : 1;
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    return x->w < y->w ? -1 : x->w > y->w;
}

static void ref_embed(const char *text, size_t len, int dim, float *out)
{
    memset(out, 0, (size_t)dim * sizeof *out);
    if (!len) return;
    size_t flen = 0;
    char *f = text_fold(text, len, true, &flen);
    ragd_span *words = NULL;
    size_t nw = text_words(f, flen, &words);
    ref_list l = {.dim = dim};
    char *prev = NULL;
    size_t prevl = 0;
    for (size_t i = 0; i < nw; i++) {
        /* The word, U+2019 read as an apostrophe, NUL-terminated. */
        const char *s = f + words[i].start;
        size_t n = words[i].end - words[i].start, wl = 0;
        char *wd = malloc(n + 1);
        for (size_t k = 0; k < n; k++) {
            if (k + 2 < n && (unsigned char)s[k] == 0xE2 && (unsigned char)s[k + 1] == 0x80 &&
                (unsigned char)s[k + 2] == 0x99) {
                wd[wl++] = '\'';
                k += 2;
            } else {
                wd[wl++] = s[k];
            }
        }
        wd[wl] = '\0';
        if (!wl || lexical_is_stopword(wd)) {
            free(wd);
            continue;
        }
        /* Character n-grams of "<word>" over code points. */
        char *pad = malloc(wl + 3);
        pad[0] = '<';
        memcpy(pad + 1, wd, wl);
        pad[wl + 1] = '>';
        size_t pl = wl + 2, ncp = 0;
        size_t *cp = malloc((pl + 1) * sizeof *cp);
        for (size_t k = 0; k < pl; k++)
            if (((unsigned char)pad[k] & 0xC0) != 0x80) cp[ncp++] = k;
        cp[ncp] = pl;
        size_t g = 0;
        for (size_t gn = 3; gn <= 5; gn++)
            if (ncp >= gn) g += ncp - gn + 1;
        double we = 2.0 / sqrt((double)g);
        for (size_t gn = 3; gn <= 5; gn++)
            for (size_t k = 0; k + gn <= ncp; k++)
                ref_push(&l,
                         ref_fmix(ref_fnv(REF_FNV_OFFSET ^ REF_SEED_CHARGRAM, pad + cp[k],
                                          cp[k + gn] - cp[k])),
                         we);
        free(cp);
        free(pad);
        ref_push(&l, ref_fmix(ref_fnv(REF_FNV_OFFSET ^ REF_SEED_UNIGRAM, wd, wl)), 1.0);
        if (prev) {
            uint64_t h = ref_fnv(REF_FNV_OFFSET ^ REF_SEED_BIGRAM, prev, prevl);
            h = ref_fnv(ref_fnv(h, "\x1F", 1), wd, wl);
            ref_push(&l, ref_fmix(h), 0.25);
        }
        free(prev);
        prev = wd;
        prevl = wl;
    }
    free(prev);
    free(words);
    free(f);
    if (l.n) qsort(l.v, l.n, sizeof *l.v, ref_cmp);
    double *acc = calloc((size_t)dim, sizeof *acc);
    for (size_t i = 0; i < l.n;) {
        size_t j = i;
        double sum = 0;
        for (; j < l.n && l.v[j].h == l.v[i].h; j++)
            sum += l.v[j].w;
        double tf = (double)(j - i);
        double v = j - i == 1 ? sum : (sum / tf) * (1.0 + log(tf));
        if (l.v[i].h >> 63) v = -v;
        acc[l.v[i].dim] += v;
        i = j;
    }
    double norm = 0;
    for (int k = 0; k < dim; k++)
        norm += acc[k] * acc[k];
    if (norm > 0) {
        norm = sqrt(norm);
        for (int k = 0; k < dim; k++)
            out[k] = (float)(acc[k] / norm);
    }
    free(acc);
    free(l.v);
}

/* Random text from fragments that reach every path: ASCII words of 1..70
 * letters (the ASCII n-gram path ends at 62 bytes), stop words, digits,
 * capitals, repeats (tf > 1) and words shared by different lengths (mixed
 * weights), Latin-1 letters, combining marks, Greek, CJK, Hangul, emoji,
 * U+2019 apostrophes, other U+20xx punctuation, and invalid UTF-8. */
static size_t random_text(uint64_t *seed, char *buf, size_t cap)
{
    static const char *const FRAG[] = {
        "the",
        "of",
        "and",
        "run",
        "running",
        "runner",
        "ender",
        "sender",
        "Café",
        "naïve",
        "RÉSUMÉ",
        "e\xCC\x81t\xC3\xA9",
        "µm",
        "α-helix",
        "β2",
        "检索增强",
        "日本語",
        "한국어",
        "don’t",
        "it’s",
        "’",
        "—",
        "…",
        "\xE2\x82\xAC",
        "\xF0\x9F\x98\x80",
        "\xFF",
        "\xC3",
        "\xE2\x80",
        "3.14",
        "x",
        "IL-6",
        "p<0.05",
        "co-operate",
        "A",
        ",",
        ".",
        "\n",
        "  ",
        "x\xCC\x88\xCC\x81",
        "ǅ",
        "ﬁle",
        "Ⅻ",
    };
    size_t n = 0, parts = (size_t)(*seed % 40);
    for (size_t i = 0; i < parts && n + 80 < cap; i++) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r = *seed >> 33;
        if (r % 3 == 0) { /* an ASCII word of random length and letters */
            size_t wl = 1 + (size_t)((r >> 4) % 70);
            for (size_t k = 0; k < wl; k++)
                buf[n++] = (char)('a' + (char)((r >> (k % 20)) % ((r >> 8) % 2 ? 26 : 3)));
        } else {
            const char *f = FRAG[(r >> 4) % (sizeof FRAG / sizeof *FRAG)];
            size_t fl = strlen(f);
            memcpy(buf + n, f, fl);
            n += fl;
        }
        if ((r >> 12) % 4) buf[n++] = ' ';
    }
    return n;
}

static bool same_vector(const float *a, const float *b, int dim)
{
    for (int k = 0; k < dim; k++)
        if (!(a[k] == b[k])) return false;
    return true;
}

static void test_local_matches_definition(void **state)
{
    (void)state;
    static const int DIMS[] = {4096, 384, 1000, 16, 1, 5000};
    static float want[5000], got[5000], sp[5000];
    static char buf[4096];
    static const char *const FIXED[] = {
        "",
        "a",
        "\xFF",
        "e\xCC\x81",
        "检",
        "don’t stop",
        "the of and",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij",  /* 62 */
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk", /* 63 */
        "ab abc abcd abcde ab abc abcd abcde ender sender ender",
        NULL, /* a word 63 times and one 64 times: tf around the 1 + log(tf) table's end */
        NULL, /* 200 times */
    };
    static char rep[3][2048];
    for (int r = 0; r < 3; r++) {
        size_t times = r == 0 ? 63 : r == 1 ? 64 : 200, n = 0;
        for (size_t k = 0; k < times; k++) {
            memcpy(rep[r] + n, r == 1 ? "tenfold " : "runs ", r == 1 ? 8 : 5);
            n += r == 1 ? 8 : 5;
        }
        rep[r][n] = '\0';
    }
    /* "runs" 63 times then "tenfold" 64 times, and "runs" 200 times. */
    static char rep01[4096];
    snprintf(rep01, sizeof rep01, "%s%s", rep[0], rep[1]);
    /* local_embed_sparse_append's arenas: start small and non-empty so they
     * grow and rows land at an offset. */
    size_t acap = 3, an = 0;
    uint32_t *aidx = malloc(acap * sizeof *aidx);
    float *aval = malloc(acap * sizeof *aval);
    local_embed_scratch *ws = local_embed_scratch_new(), *ws2 = local_embed_scratch_new();
    uint64_t seed = 0x5EED;
    /* The fixed texts at every dimension, then 1,500 random ones. */
    const size_t nfix = sizeof FIXED / sizeof *FIXED, ndims = sizeof DIMS / sizeof *DIMS;
    size_t ntexts = nfix * ndims + 1500;
    for (size_t t = 0; t < ntexts; t++) {
        const char *text = buf;
        size_t len;
        int dim = DIMS[t % ndims];
        if (t < nfix * ndims) {
            size_t fi = t / ndims;
            text = FIXED[fi] ? FIXED[fi] : fi + 1 < nfix ? rep01 : rep[2];
            len = strlen(text);
        } else {
            len = random_text(&seed, buf, sizeof buf);
        }
        ref_embed(text, len, dim, want);
        local_embed_text(text, len, dim, got);
        const uint32_t *idx;
        const float *val;
        size_t m = local_embed_sparse_ws(ws, text, len, dim, &idx, &val);
        memset(sp, 0, (size_t)dim * sizeof *sp);
        for (size_t k = 0; k < m; k++)
            sp[idx[k]] = val[k];
        if (!same_vector(want, got, dim) || !same_vector(want, sp, dim))
            fprintf(stderr, "text %zu (dim %d, %zu bytes): \"%.*s\"\n", t, dim, len, (int)len,
                    text);
        assert_true(same_vector(want, got, dim));
        assert_true(same_vector(want, sp, dim));
        /* The append form: the same pairs after what the arenas held, and
         * the sum of squares in order. */
        if (an > 1000) an = t % 5;
        size_t before = an;
        double ss = -1;
        size_t m2 = local_embed_sparse_append(ws2, text, len, dim, &aidx, &aval, &an, &acap, &ss);
        assert_int_equal(m2, m);
        assert_int_equal(an, before + m);
        assert_true(acap >= an);
        double want_ss = 0;
        for (size_t k = 0; k < m; k++) {
            assert_int_equal(aidx[before + k], idx[k]);
            assert_memory_equal(&aval[before + k], &val[k], sizeof *val);
            want_ss += (double)val[k] * val[k];
        }
        assert_memory_equal(&ss, &want_ss, sizeof ss);
    }
    free(aidx);
    free(aval);
    local_embed_scratch_free(ws);
    local_embed_scratch_free(ws2);
}

/* A short text (at most dim / 6 bytes) takes the other path, features keyed
 * on their dimension (feat_add_dim): these two texts, found by search, give
 * other bits when a dimension's chain of three or more features is summed
 * out of ascending hash (the random texts above are blind to it: the final
 * rounding to float hides most orders). One with a dimension that is not a
 * power of two (the modulo), one with 4096 (the mask). */
static void test_local_by_dimension_order_pins(void **state)
{
    (void)state;
    static const struct {
        int dim;
        const char *text;
    } pins[] = {
        {1000, "dafcad cfddbbeb da dbdcded db afecdadbf cc fdcfeeb aad ddf adf ef affebeadf bbac"
               " fcbbedd eaaaddf faafefcca eecf dcbd bd dba adfcbeada acc dbcccc acffafec "},
        {4096, "aae ddad efce fbaccccda edaadeecb effcf aabadfbb dcbba bcfeb acbfcbdd bcbab "
               "edccfbab daeffbcc dbdeca bdcbaf ebaefd ccdb bbf aacfedfce fbefedc effcbfdd "
               "cbfecee cdaffcc fd bafc ccecdaccf faf ca dcd fffbd ffbeda cbeaedd caaf dbda "
               "caafefecc deeffaafe eaecbfe cacddbed afefca fbdabd fbddffca cebadb dfacb efacec "
               "fbecf bcca bdbaf aaabff cedbbddca ddaffaacf afbbe fcaff cdbcccba abffc afaaa "
               "ffecbbbcb dbafbab cbfffeaef fabebfedc effcdcf dea dfaebae da eabdfdde ebbd "
               "fdabea eeaa bb cefcabcd eccdce affcfcb bafece fdbcdecd cde bbfea eadeaa da "
               "babbbcfea bcf edcafb adfcd ffabecae ebda bbde ac ebdffdeac cdcdedb fafdddc "
               "deeccef edace bedcdc eaeecfbe ffe fbd fec ebaddbbfa abafacbc "},
    };
    static float want[4096], got[4096];
    for (size_t i = 0; i < sizeof pins / sizeof *pins; i++) {
        size_t len = strlen(pins[i].text);
        assert_true(6 * len <= (size_t)pins[i].dim); /* the by-dimension path */
        ref_embed(pins[i].text, len, pins[i].dim, want);
        local_embed_text(pins[i].text, len, pins[i].dim, got);
        assert_true(same_vector(want, got, pins[i].dim));
    }
}

/* Unrelated texts for the single-word comparisons below. */
static const char *const UNRELATED[] = {"blue ocean whales",
                                        "lighthouse",
                                        "quarterly revenue grew",
                                        "bread recipe with yeast",
                                        "glacier survey",
                                        "encryption keys",
                                        "the bicycle chain",
                                        "beekeeping calendar",
                                        "vpn gateway port",
                                        "family reunion",
                                        "stomach",
                                        "internet"};
#define N_UNRELATED (sizeof UNRELATED / sizeof *UNRELATED)

/* Single words have a dozen features, so a hash collision with an unrelated
 * text moves the cosine by about ±0.05 (and a word-word collision by ±0.4,
 * rarely). The promise is therefore statistical: the similar text beats the
 * unrelated ones on average and in the large majority. */
static void expect_closer_than_unrelated(const char *a, const char *b)
{
    double sim = local_cos(a, b), mean = 0;
    size_t beaten = 0;
    for (size_t i = 0; i < N_UNRELATED; i++) {
        double u = local_cos(a, UNRELATED[i]);
        mean += u / (double)N_UNRELATED;
        beaten += sim > u;
    }
    if (!(sim > mean + 0.04 && beaten * 4 >= N_UNRELATED * 3))
        fprintf(stderr, "cos(%s, %s) = %.3f, unrelated mean %.3f, beats %zu of %zu\n", a, b, sim,
                mean, beaten, N_UNRELATED);
    assert_true(sim > mean + 0.04);
    assert_true(beaten * 4 >= N_UNRELATED * 3);
}

static void test_local_similarity(void **state)
{
    (void)state;
    /* Same words reordered: unigrams and n-grams agree, bigrams differ. */
    const char *fox = "the quick brown fox jumps over the lazy dog";
    double reordered = local_cos(fox, "the lazy dog jumps over the quick brown fox");
    assert_true(reordered > 0.8);
    assert_true(reordered < 0.999); /* word order still counts, through bigrams */
    for (size_t i = 0; i < N_UNRELATED; i++)
        assert_true(reordered > local_cos(fox, UNRELATED[i]) + 0.5);

    /* Morphology and typos, through character n-grams. */
    expect_closer_than_unrelated("running runner runs", "run");
    expect_closer_than_unrelated("retrieval", "retreival");
    expect_closer_than_unrelated("connection", "connections");

    /* In context the margin is wide. */
    const char *q = "dense retrieval with embeddings";
    double typo = local_cos(q, "dense retreival with embedings");
    double mean = 0;
    for (size_t i = 0; i < N_UNRELATED; i++) {
        double u = local_cos(q, UNRELATED[i]);
        assert_true(typo > u);
        mean += u / (double)N_UNRELATED;
    }
    assert_true(typo > 0.3);
    assert_true(typo > mean + 0.25);
    assert_true(local_cos("lighthouse keeper", "lighthouse keepers") > 0.5);

    /* Folding: case, NFKC, diacritics and the curly apostrophe do not matter. */
    assert_true(local_cos("Caf\xC3\xA9 R\xC3\x89SUM\xC3\x89", "cafe resume") > 0.9999);
    assert_true(local_cos("don\xE2\x80\x99t stop", "don't stop") > 0.9999);
    assert_true(local_cos("\xEF\xBC\xA6\xEF\xBD\x95\xEF\xBD\x8C\xEF\xBD\x8C", "full") >
                0.9999); /* fullwidth */

    /* Shared stopwords count less than a shared content word. */
    const char *h = "the history of the lighthouse";
    assert_true(local_cos(h, "lighthouse history") > local_cos(h, "the price of the ticket") + 0.3);
}

static void test_local_embedder(void **state)
{
    (void)state;
    embedder_config c;
    memset(&c, 0, sizeof c);
    c.batch_size = 2;
    c.cost_per_1k = 0.5;
    ragd_embedder *e = make(&c);
    assert_string_equal(embedder_model(e), "ragd-local-hash-v2");
    assert_int_equal(embedder_dim(e), 384);
    ragd_error err;
    embed_usage u;
    memset(&u, 0, sizeof u);
    assert_int_equal(embedder_probe_dim(e, &u, &err), RAGD_OK);

    /* lens given: the texts need not be NUL-terminated at the length. */
    const char *texts[] = {"alpha beta gammaXXX", "delta", "epsilon zeta"};
    size_t lens[] = {16, 5, 12};
    float out[3 * 384];
    assert_int_equal(embedder_embed(e, texts, lens, 3, out, &u, &err), RAGD_OK);
    const char *exact[] = {"alpha beta gamma", "delta", "epsilon zeta"};
    expect_local_vectors(exact, 3, out, 384);
    assert_int_equal(u.calls, 2); /* batches */
    assert_int_equal(u.texts, 3);
    long tokens = 0;
    for (int i = 0; i < 3; i++)
        tokens += (long)text_count_tokens(exact[i], strlen(exact[i]));
    assert_int_equal(u.tokens, tokens);
    assert_true(fabs(u.cost - (double)tokens * 0.5 / 1000) < 1e-12);
    assert_int_equal(u.retries, 0);
    assert_int_equal(u.fallbacks, 0);
    embedder_free(e);

    c.dim = 64;
    c.model = "custom-name";
    e = make(&c);
    assert_int_equal(embedder_dim(e), 64);
    assert_string_equal(embedder_model(e), "custom-name");
    embedder_free(e);
}

static void test_config_errors(void **state)
{
    (void)state;
    ragd_embedder *e = NULL;
    ragd_error err;
    embedder_config c;
    memset(&c, 0, sizeof c);

    c.kind = "word2vec";
    assert_int_equal(embedder_new(&c, &e, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "word2vec");
    assert_null(e);

    c.kind = "openai";
    c.model = "m";
    assert_int_equal(embedder_new(&c, &e, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "URL");
    c.url = "ftp://host/v1";
    assert_int_equal(embedder_new(&c, &e, &err), RAGD_EUSAGE);
    c.url = "http://127.0.0.1:1/v1";
    c.model = NULL;
    assert_int_equal(embedder_new(&c, &e, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "model");
    c.model = "m";
    c.dim = -3;
    assert_int_equal(embedder_new(&c, &e, &err), RAGD_EUSAGE);
    c.dim = 0;
    c.api_key = "abc\r\nX-Evil: 1";
    assert_int_equal(embedder_new(&c, &e, &err), RAGD_EUSAGE);
    c.api_key = NULL;

    /* Remote with unknown dimension: embedding needs a probe first; no
     * network is touched by embedder_new or by the refusal. */
    assert_int_equal(embedder_new(&c, &e, &err), RAGD_OK);
    assert_int_equal(embedder_dim(e), 0);
    assert_string_equal(embedder_model(e), "m");
    float v[4];
    const char *t[1] = {"x"};
    assert_int_equal(embedder_embed(e, t, NULL, 1, v, NULL, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "embedder_probe_dim");
    assert_int_equal(embedder_embed(e, t, NULL, 0, v, NULL, &err), RAGD_OK);

    /* Fallbacks: remote only, same dimension. */
    embedder_config f;
    memset(&f, 0, sizeof f);
    assert_int_equal(embedder_add_fallback(e, &f, &err), RAGD_EUSAGE); /* local */
    embedder_free(e);
    c.dim = 384;
    assert_int_equal(embedder_new(&c, &e, &err), RAGD_OK);
    f.kind = "ollama";
    f.url = "http://127.0.0.1:2";
    f.dim = 512;
    assert_int_equal(embedder_add_fallback(e, &f, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "512");
    f.dim = 0;
    assert_int_equal(embedder_add_fallback(e, &f, &err), RAGD_OK); /* model inherited */
    embedder_free(e);

    memset(&c, 0, sizeof c);
    assert_int_equal(embedder_new(&c, &e, &err), RAGD_OK);
    f.dim = 384;
    assert_int_equal(embedder_add_fallback(e, &f, &err), RAGD_EUSAGE); /* local primary */
    embedder_free(e);
}

/* --- remote: protocols -------------------------------------------------------------- */

#define NTEXTS 150

static const char **many_texts(void)
{
    const char **t = malloc(NTEXTS * sizeof *t);
    for (int i = 0; i < NTEXTS; i++) {
        char buf[96];
        snprintf(buf, sizeof buf, "document %d is about topic %d and lighthouse %d", i, i % 7,
                 i * 31);
        t[i] = strdup(buf);
    }
    return t;
}

static void free_texts(const char **t)
{
    for (int i = 0; i < NTEXTS; i++)
        free((char *)t[i]);
    free(t);
}

static long tokens_of(const char *const *t, size_t n)
{
    long s = 0;
    for (size_t i = 0; i < n; i++)
        s += (long)text_count_tokens(t[i], strlen(t[i]));
    return s;
}

static void test_openai_batches_and_reuses_connection(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, /*reverse*/ 1, 0, NULL);
    char url[128];
    embedder_config c = remote_cfg("openai", mock_server_port(m), url, sizeof url);
    strcat(url, "/"); /* trailing '/' is stripped */
    c.cost_per_1k = 0.02;
    ragd_embedder *e = make(&c);
    assert_string_equal(embedder_model(e), "mock-embed");
    assert_int_equal(embedder_dim(e), 384);

    const char **t = many_texts();
    float *out = malloc((size_t)NTEXTS * 384 * sizeof *out);
    embed_usage u;
    memset(&u, 0, sizeof u);
    ragd_error err;
    ragd_status rc = embedder_embed(e, t, NULL, NTEXTS, out, &u, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, RAGD_OK);
    assert_int_equal(mock_server_requests(m), 3); /* 64 + 64 + 22 */
    assert_int_equal(mock_server_connections(m), 1);
    assert_int_equal(mock_server_texts(m), NTEXTS);
    expect_local_vectors(t, NTEXTS, out, 384); /* data[] came reversed: placed by index */
    assert_int_equal(u.calls, 3);
    assert_int_equal(u.attempts, 3);
    assert_int_equal(u.retries, 0);
    assert_int_equal(u.texts, NTEXTS);
    long tok = tokens_of(t, NTEXTS);
    assert_int_equal(u.tokens, tok);
    assert_true(fabs(u.cost - (double)tok * 0.02 / 1000) < 1e-12);

    char *body = mock_server_last_body(m);
    assert_contains(body, "\"model\":\"mock-embed\"");
    assert_null(strstr(body, "dimensions"));
    free(body);

    free(out);
    free_texts(t);
    embedder_free(e);
    mock_server_stop(m);
}

static void test_openai_send_dimensions(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, 0, 0, NULL);
    char url[128];
    embedder_config c = remote_cfg("openai", mock_server_port(m), url, sizeof url);
    c.dim = 256;
    c.send_dimensions = 1;
    ragd_embedder *e = make(&c);
    const char *t[] = {"matryoshka embeddings", "shortened vectors"};
    float out[2 * 256];
    ragd_error err;
    assert_int_equal(embedder_embed(e, t, NULL, 2, out, NULL, &err), RAGD_OK);
    expect_local_vectors(t, 2, out, 256);
    char *body = mock_server_last_body(m);
    assert_contains(body, "\"dimensions\":256");
    free(body);
    embedder_free(e);
    mock_server_stop(m);
}

static void test_ollama_batches_and_estimates_tokens(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, 0, /*no_usage*/ 1, NULL);
    char url[128];
    embedder_config c = remote_cfg("ollama", mock_server_port(m), url, sizeof url);
    ragd_embedder *e = make(&c);
    const char **t = many_texts();
    float *out = malloc((size_t)NTEXTS * 384 * sizeof *out);
    embed_usage u;
    memset(&u, 0, sizeof u);
    ragd_error err;
    assert_int_equal(embedder_embed(e, t, NULL, NTEXTS, out, &u, &err), RAGD_OK);
    assert_int_equal(mock_server_requests(m), 3);
    expect_local_vectors(t, NTEXTS, out, 384);
    assert_int_equal(u.calls, 3);
    assert_int_equal(u.tokens, tokens_of(t, NTEXTS)); /* estimated: no prompt_eval_count */
    free(out);
    free_texts(t);
    embedder_free(e);
    mock_server_stop(m);

    /* With prompt_eval_count the server's count is used. */
    m = start_mock(384, 0, 0, NULL);
    c = remote_cfg("ollama", mock_server_port(m), url, sizeof url);
    e = make(&c);
    memset(&u, 0, sizeof u);
    assert_int_equal(embed_one(e, "ollama speaks its own protocol", &u, &err), RAGD_OK);
    assert_int_equal(u.tokens,
                     tokens_of((const char *const[]){"ollama speaks its own protocol"}, 1));
    char *body = mock_server_last_body(m);
    assert_contains(body, "\"input\":[\"ollama speaks its own protocol\"]");
    free(body);
    embedder_free(e);
    mock_server_stop(m);
}

static void test_probe_dim(void **state)
{
    (void)state;
    mock_server *m = start_mock(96, 0, 0, NULL);
    char url[128];
    embedder_config c = remote_cfg("openai", mock_server_port(m), url, sizeof url);
    c.dim = 0;
    ragd_embedder *e = make(&c);
    assert_int_equal(embedder_dim(e), 0);
    assert_int_equal(mock_server_requests(m), 0); /* embedder_new does not connect */
    embed_usage u;
    memset(&u, 0, sizeof u);
    ragd_error err;
    assert_int_equal(embedder_probe_dim(e, &u, &err), RAGD_OK);
    assert_int_equal(embedder_dim(e), 96);
    assert_int_equal(u.calls, 1);
    assert_int_equal(embedder_probe_dim(e, &u, &err), RAGD_OK); /* no-op now */
    assert_int_equal(mock_server_requests(m), 1);
    const char *t[] = {"after the probe"};
    float out[96];
    assert_int_equal(embedder_embed(e, t, NULL, 1, out, &u, &err), RAGD_OK);
    expect_local_vectors(t, 1, out, 96);
    embedder_free(e);
    mock_server_stop(m);
}

/* --- remote: retries ---------------------------------------------------------------- */

static void test_429_retry_after_seconds(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, 0, 0, NULL);
    mock_server_push(m, mock_retry_after(429, 1, 0));
    char url[128];
    embedder_config c = remote_cfg("openai", mock_server_port(m), url, sizeof url);
    ragd_embedder *e = make(&c);
    embed_usage u;
    memset(&u, 0, sizeof u);
    ragd_error err;
    double t0 = now_s();
    assert_int_equal(embed_one(e, "rate limited", &u, &err), RAGD_OK);
    double dt = now_s() - t0;
    assert_true(dt >= 0.99); /* honoured Retry-After over a 10 ms backoff */
    assert_true(dt < 3.0);
    assert_int_equal(u.attempts, 2);
    assert_int_equal(u.retries, 1);
    assert_int_equal(u.calls, 1);
    assert_int_equal(mock_server_requests(m), 2);
    embedder_free(e);
    mock_server_stop(m);
}

static void test_503_retry_after_http_date(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, 0, 0, NULL);
    mock_server_push(m, mock_retry_after(503, 2, /*as_date*/ 1));
    char url[128];
    embedder_config c = remote_cfg("ollama", mock_server_port(m), url, sizeof url);
    ragd_embedder *e = make(&c);
    embed_usage u;
    memset(&u, 0, sizeof u);
    ragd_error err;
    double t0 = now_s();
    assert_int_equal(embed_one(e, "date-valued Retry-After", &u, &err), RAGD_OK);
    double dt = now_s() - t0;
    assert_true(dt >= 0.95); /* now+2 s at one-second resolution: at least ~1 s */
    assert_true(dt < 3.5);
    assert_int_equal(u.retries, 1);
    embedder_free(e);
    mock_server_stop(m);
}

static void test_500_then_success(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, 0, 0, NULL);
    mock_server_push_n(m, mock_status(500, "overloaded"), 2);
    char url[128];
    embedder_config c = remote_cfg("openai", mock_server_port(m), url, sizeof url);
    ragd_embedder *e = make(&c);
    embed_usage u;
    memset(&u, 0, sizeof u);
    ragd_error err;
    double t0 = now_s();
    assert_int_equal(embed_one(e, "flaky server", &u, &err), RAGD_OK);
    assert_true(now_s() - t0 < 1.0);
    assert_int_equal(u.attempts, 3);
    assert_int_equal(u.retries, 2);
    assert_int_equal(u.calls, 1);
    assert_int_equal(mock_server_requests(m), 3);
    embedder_free(e);
    mock_server_stop(m);
}

static void test_500_exhausts_retries(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, 0, 0, NULL);
    mock_server_set_default(m, mock_status(502, "upstream is down"));
    char url[128];
    embedder_config c = remote_cfg("openai", mock_server_port(m), url, sizeof url);
    c.max_retries = 2;
    ragd_embedder *e = make(&c);
    embed_usage u;
    memset(&u, 0, sizeof u);
    ragd_error err;
    assert_int_equal(embed_one(e, "never works", &u, &err), RAGD_EPROVIDER);
    assert_int_equal(err.code, RAGD_EPROVIDER);
    assert_contains(err.msg, "POST http://127.0.0.1:");
    assert_contains(err.msg, "/v1/embeddings");
    assert_contains(err.msg, "HTTP 502");
    assert_contains(err.msg, "after 3 attempts");
    assert_contains(err.msg, "upstream is down");
    assert_int_equal(mock_server_requests(m), 3);
    assert_int_equal(u.attempts, 3);
    assert_int_equal(u.retries, 2);
    assert_int_equal(u.calls, 0);
    embedder_free(e);

    /* max_retries -1: no retry at all. */
    mock_server_reset(m);
    c.max_retries = -1;
    e = make(&c);
    memset(&u, 0, sizeof u);
    assert_int_equal(embed_one(e, "once", &u, &err), RAGD_EPROVIDER);
    assert_int_equal(mock_server_requests(m), 1);
    assert_int_equal(u.attempts, 1);
    assert_null(strstr(err.msg, "attempts"));
    embedder_free(e);
    mock_server_stop(m);
}

static void test_hang_past_timeout_then_success(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, 0, 0, NULL);
    mock_server_push(m, mock_hang(5.0));
    char url[128];
    embedder_config c = remote_cfg("openai", mock_server_port(m), url, sizeof url);
    c.timeout_s = 0.5;
    ragd_embedder *e = make(&c);
    embed_usage u;
    memset(&u, 0, sizeof u);
    ragd_error err;
    double t0 = now_s();
    ragd_status rc = embed_one(e, "slow server", &u, &err);
    double dt = now_s() - t0;
    if (rc) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, RAGD_OK);
    assert_true(dt >= 0.45);
    assert_true(dt < 2.5);
    assert_int_equal(u.retries, 1);
    assert_int_equal(mock_server_requests(m), 2);
    assert_int_equal(mock_server_connections(m), 2); /* the timed-out one was dropped */
    embedder_free(e);

    /* Hanging every time: a timeout error naming the limit. */
    mock_server_reset(m);
    mock_server_set_default(m, mock_hang(5.0));
    c.max_retries = 1;
    e = make(&c);
    assert_int_equal(embed_one(e, "always slow", NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "timed out (0.5 s) after 2 attempts");
    embedder_free(e);
    mock_server_stop(m); /* wakes the hanging handlers */
}

static void test_malformed_json_retried_once(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, 0, 0, NULL);
    mock_server_push(m, mock_malformed());
    char url[128];
    embedder_config c = remote_cfg("openai", mock_server_port(m), url, sizeof url);
    ragd_embedder *e = make(&c);
    embed_usage u;
    memset(&u, 0, sizeof u);
    ragd_error err;
    assert_int_equal(embed_one(e, "truncated reply once", &u, &err), RAGD_OK);
    assert_int_equal(u.retries, 1);
    assert_int_equal(mock_server_requests(m), 2);

    /* Twice in a row: an error after exactly two attempts, though more
     * retries were allowed. */
    mock_server_reset(m);
    mock_server_push_n(m, mock_malformed(), 2);
    assert_int_equal(embed_one(e, "truncated reply twice", &u, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "invalid JSON from http://127.0.0.1:");
    assert_contains(err.msg, "/v1/embeddings");
    assert_int_equal(mock_server_requests(m), 2);
    embedder_free(e);
    mock_server_stop(m);
}

static void test_wrong_dimension(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, 0, 0, NULL);
    mock_server_push(m, mock_wrong_dim(512));
    char url[128];
    embedder_config c = remote_cfg("openai", mock_server_port(m), url, sizeof url);
    ragd_embedder *e = make(&c);
    ragd_error err;
    assert_int_equal(embed_one(e, "wrong model loaded", NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "server returned 512-d vectors, expected 384");
    assert_int_equal(mock_server_requests(m), 1); /* not retried */
    embedder_free(e);

    /* Same through Ollama. */
    mock_server_reset(m);
    mock_server_push(m, mock_wrong_dim(128));
    c = remote_cfg("ollama", mock_server_port(m), url, sizeof url);
    e = make(&c);
    assert_int_equal(embed_one(e, "wrong model loaded", NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "128-d");
    assert_contains(err.msg, "expected 384");
    embedder_free(e);
    mock_server_stop(m);
}

static void test_4xx_not_retried(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, 0, 0, NULL);
    mock_server_push(m, mock_status(400, "input is too long for this model"));
    char url[128];
    embedder_config c = remote_cfg("openai", mock_server_port(m), url, sizeof url);
    ragd_embedder *e = make(&c);
    embed_usage u;
    memset(&u, 0, sizeof u);
    ragd_error err;
    assert_int_equal(embed_one(e, "too long", &u, &err), RAGD_EPROVIDER);
    assert_int_equal(mock_server_requests(m), 1);
    assert_int_equal(u.attempts, 1);
    assert_int_equal(u.retries, 0);
    assert_contains(err.msg, "HTTP 400: input is too long for this model");
    assert_contains(err.msg, "/v1/embeddings");
    embedder_free(e);

    /* Ollama's {"error":"..."} shape. */
    mock_server_reset(m);
    mock_server_push(m, mock_status(404, "model \"nomic\" not found, try pulling it first"));
    c = remote_cfg("ollama", mock_server_port(m), url, sizeof url);
    e = make(&c);
    assert_int_equal(embed_one(e, "x", NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "/api/embed: HTTP 404: model \"nomic\" not found");
    assert_int_equal(mock_server_requests(m), 1);
    embedder_free(e);
    mock_server_stop(m);
}

static void test_bearer_key(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, 0, 0, "sk-test-123");
    char url[128];
    embedder_config c = remote_cfg("openai", mock_server_port(m), url, sizeof url);
    c.api_key = "sk-test-123";
    ragd_embedder *e = make(&c);
    ragd_error err;
    assert_int_equal(embed_one(e, "authorized", NULL, &err), RAGD_OK);
    embedder_free(e);

    c.api_key = "sk-wrong";
    e = make(&c);
    assert_int_equal(embed_one(e, "unauthorized", NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "HTTP 401: invalid API key");
    embedder_free(e);

    c.api_key = NULL;
    e = make(&c);
    assert_int_equal(embed_one(e, "anonymous", NULL, &err), RAGD_EPROVIDER);
    assert_int_equal(mock_server_requests(m), 3);
    embedder_free(e);
    mock_server_stop(m);
}

static void test_connection_refused(void **state)
{
    (void)state;
    int port = free_port();
    char url[128];
    embedder_config c = remote_cfg("openai", port, url, sizeof url);
    c.max_retries = 2;
    ragd_embedder *e = make(&c);
    embed_usage u;
    memset(&u, 0, sizeof u);
    ragd_error err;
    double t0 = now_s();
    assert_int_equal(embed_one(e, "nobody home", &u, &err), RAGD_EPROVIDER);
    assert_true(now_s() - t0 < 1.0);
    char want[160];
    snprintf(want, sizeof want,
             "POST http://127.0.0.1:%d/v1/embeddings: connection refused after 3 attempts", port);
    assert_string_equal(err.msg, want);
    assert_int_equal(u.attempts, 3);
    assert_int_equal(u.retries, 2);
    assert_int_equal(u.calls, 0);
    embedder_free(e);
}

static void test_fallback_chain(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, 0, 0, NULL);
    int dead = free_port();
    char url1[128], url2[128];
    embedder_config p = remote_cfg("openai", dead, url1, sizeof url1);
    p.max_retries = 1;
    embedder_config f = remote_cfg("ollama", mock_server_port(m), url2, sizeof url2);
    f.model = NULL; /* inherits "mock-embed" */
    ragd_embedder *e = make(&p);
    ragd_error err;
    assert_int_equal(embedder_add_fallback(e, &f, &err), RAGD_OK);

    embed_usage u;
    memset(&u, 0, sizeof u);
    const char *one[] = {"served by the fallback"};
    float v[384];
    assert_int_equal(embedder_embed(e, one, NULL, 1, v, &u, &err), RAGD_OK);
    expect_local_vectors(one, 1, v, 384);
    assert_int_equal(u.fallbacks, 1);
    assert_int_equal(u.calls, 1);
    assert_int_equal(u.attempts, 3); /* 2 on the dead primary, 1 on the fallback */
    assert_int_equal(mock_server_requests(m), 1);
    char *body = mock_server_last_body(m);
    assert_contains(body, "\"model\":\"mock-embed\"");
    free(body);

    /* Many batches: the primary is tried once per call, not once per batch. */
    const char **t = many_texts();
    float *out = malloc((size_t)NTEXTS * 384 * sizeof *out);
    memset(&u, 0, sizeof u);
    assert_int_equal(embedder_embed(e, t, NULL, NTEXTS, out, &u, &err), RAGD_OK);
    expect_local_vectors(t, NTEXTS, out, 384);
    assert_int_equal(u.fallbacks, 3);
    assert_int_equal(u.calls, 3);
    assert_int_equal(u.attempts, 2 + 3);
    free(out);
    free_texts(t);

    /* Everything down: the message names every server. */
    mock_server_set_default(m, mock_status(500, "fallback broken"));
    assert_int_equal(embed_one(e, "all down", NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "connection refused");
    assert_contains(err.msg, "/api/embed: HTTP 500");
    assert_contains(err.msg, "fallback broken");
    embedder_free(e);
    mock_server_stop(m);
}

typedef struct {
    ragd_embedder *e;
    const char *const *texts;
    size_t n;
    float *out;
    embed_usage u;
    ragd_status rc;
    ragd_error err;
} clone_job;

static void *clone_embed(void *arg)
{
    clone_job *j = arg;
    j->rc = embedder_embed(j->e, j->texts, NULL, j->n, j->out, &j->u, &j->err);
    return NULL;
}

/* A clone keeps the key, the dimension and the fallbacks, and clones embed
 * on two threads at once, each through its own connections. */
static void test_clone_threads(void **state)
{
    (void)state;
    mock_server *m = start_mock(384, 0, 0, "sk-clone");
    int dead = free_port();
    char url1[128], url2[128];
    embedder_config p = remote_cfg("openai", dead, url1, sizeof url1);
    p.max_retries = -1;
    p.api_key = "sk-clone";
    embedder_config f = remote_cfg("openai", mock_server_port(m), url2, sizeof url2);
    f.api_key = "sk-clone";
    ragd_embedder *e = make(&p);
    ragd_error err;
    assert_int_equal(embedder_add_fallback(e, &f, &err), RAGD_OK);
    ragd_embedder *c[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(embedder_clone(e, &c[i], &err), RAGD_OK);
        assert_string_equal(embedder_model(c[i]), "mock-embed");
        assert_int_equal(embedder_dim(c[i]), 384);
    }
    const char **t = many_texts();
    clone_job jobs[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].e = c[i];
        jobs[i].texts = t;
        jobs[i].n = NTEXTS;
        jobs[i].out = malloc((size_t)NTEXTS * 384 * sizeof(float));
        assert_int_equal(pthread_create(&th[i], NULL, clone_embed, &jobs[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].rc) fprintf(stderr, "clone %d: %s\n", i, jobs[i].err.msg);
        assert_int_equal(jobs[i].rc, RAGD_OK);
        expect_local_vectors(t, NTEXTS, jobs[i].out, 384);
        assert_int_equal(jobs[i].u.fallbacks, 3); /* the key went with the fallback */
        free(jobs[i].out);
        embedder_free(c[i]);
    }
    free_texts(t);
    /* A local embedder clones to an equal local one. */
    embedder_config lc;
    memset(&lc, 0, sizeof lc);
    lc.dim = 64;
    ragd_embedder *l = make(&lc), *l2 = NULL;
    assert_int_equal(embedder_clone(l, &l2, &err), RAGD_OK);
    assert_int_equal(embedder_dim(l2), 64);
    assert_string_equal(embedder_model(l2), embedder_model(l));
    embedder_free(l2);
    embedder_free(l);
    embedder_free(e);
    mock_server_stop(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_deterministic_unit_norm),
        cmocka_unit_test(test_local_golden_vector),
        cmocka_unit_test(test_local_handle_scratch_matches_fresh),
        cmocka_unit_test(test_local_bit_exact_checksums),
        cmocka_unit_test(test_local_summation_order_pins),
        cmocka_unit_test(test_local_scratch_reuse),
        cmocka_unit_test(test_local_word_cache),
        cmocka_unit_test(test_local_matches_definition),
        cmocka_unit_test(test_local_by_dimension_order_pins),
        cmocka_unit_test(test_local_similarity),
        cmocka_unit_test(test_local_embedder),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_openai_batches_and_reuses_connection),
        cmocka_unit_test(test_openai_send_dimensions),
        cmocka_unit_test(test_ollama_batches_and_estimates_tokens),
        cmocka_unit_test(test_probe_dim),
        cmocka_unit_test(test_429_retry_after_seconds),
        cmocka_unit_test(test_503_retry_after_http_date),
        cmocka_unit_test(test_500_then_success),
        cmocka_unit_test(test_500_exhausts_retries),
        cmocka_unit_test(test_hang_past_timeout_then_success),
        cmocka_unit_test(test_malformed_json_retried_once),
        cmocka_unit_test(test_wrong_dimension),
        cmocka_unit_test(test_4xx_not_retried),
        cmocka_unit_test(test_bearer_key),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_fallback_chain),
        cmocka_unit_test(test_clone_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
