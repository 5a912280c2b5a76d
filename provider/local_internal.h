/* provider/local_internal.h — the local embedder's scratch, shared by
 * provider/local.c (features, sums per dimension, the public functions) and
 * provider/local_words.c (the word cache and character n-grams). Not a
 * public header: the model and its contract are described in local.c.
 * Ownership and threads as in provider.h: a scratch belongs to its
 * creator, is used by one thread at a time, and every pointer it hands out
 * is borrowed until the next call with it.
 */
#ifndef RAGD_PROVIDER_LOCAL_INTERNAL_H
#define RAGD_PROVIDER_LOCAL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/hash.h"
#include "core/text.h"
#include "provider/provider.h"

/* Per-family hash seeds (arbitrary odd constants; part of the model). */
#define SEED_UNIGRAM 0x9E3779B97F4A7C15ULL
#define SEED_BIGRAM 0xC2B2AE3D27D4EB4FULL
#define SEED_CHARGRAM 0x165667B19E3779F9ULL

#define W_UNIGRAM 1.0
#define W_BIGRAM 0.25
#define W_CHARGRAMS 2.0 /* L2 mass of one word's n-gram block */
#define NGRAM_MIN 3
#define NGRAM_MAX 5

#define FNV_OFFSET 0xCBF29CE484222325ULL
#define FNV_PRIME 0x100000001B3ULL

static inline uint64_t fnv_start(uint64_t seed)
{
    return FNV_OFFSET ^ seed;
}

static inline uint64_t fnv_add(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* One byte of FNV-1a. */
static inline uint64_t fnv_byte(uint64_t h, unsigned char c)
{
    return (h ^ c) * FNV_PRIME;
}

/* Term frequencies below this have their 1 + log(tf) kept in the scratch. */
#define LOG_TF_MAX 64

/* Texts are embedded by dimension (feat_add_dim) only up to this many
 * dimensions: they then have at most dim / 2 features, indexed in 16 bits. */
#define BY_DIM_MAX_DIM 131070

/* One distinct feature of the text being embedded: 32 bytes, two to a
 * cache line (what is only needed on one path or for rare features is in
 * the scratch's parallel arrays fpos and fmix). */
typedef struct {
    uint64_t h;
    double sum;    /* its occurrences' weights, added in arrival order */
    double w0;     /* the first occurrence's weight; NaN once it has two (feat_mixed) */
    uint32_t tf;   /* occurrences */
    uint32_t next; /* by dimension: the next feature of its dimension, or NO_FEAT */
} dfeat;

#define NO_FEAT UINT32_MAX

/* One occurrence of a feature whose occurrences differ in weight, chained
 * to the feature's previous one. */
typedef struct {
    double w;
    int32_t prev;
} wocc;

/* A feature whose dimension holds another one too. */
typedef struct {
    uint64_t h;
    double sv;
    uint32_t dim;
} shared_feat;

/* One distinct word seen by a scratch (after U+2019 -> '\''): what
 * collect_features adds for it, all functions of its bytes. */
typedef struct {
    uint64_t hu;   /* FNV-1a of the unigram seed and the bytes (the lookup key) */
    uint64_t uh;   /* ragd_fmix64(hu): its unigram feature */
    uint64_t hp;   /* FNV-1a of the bigram seed and the bytes: a bigram's prefix */
    double w_each; /* each n-gram's weight */
    uint32_t boff; /* its bytes at wbytes + boff */
    uint32_t wl;   /* their number */
    uint32_t hoff; /* its n-gram hashes (fmix64'd) at whash + hoff */
    uint32_t nh;   /* their number */
    uint32_t stop; /* a stop word: no features at all */
} word_entry;

/* The word cache is emptied when it holds this many words, hashes or
 * bytes, so a scratch stays bounded whatever it embeds (the arenas keep
 * their size). Sized to stay in a core's L2 (512 KiB here) beside the
 * embedder's other scratch: 2,048 words of ~18 n-gram hashes are ~300 KiB.
 * At 8,192 the hashes alone passed 1 MiB and every hit went to L3: 2,048
 * misses more words (each costs its n-grams again: +2 % instructions) but
 * halves the last-level misses (cachegrind), and the semantic chunker ran
 * 6-7 % faster, ingest 2 % (docs/benchmarks.md, tenth session). Keeping
 * the words found again when it is full, instead of emptying it, cut the
 * misses by a fifth but not the time (tried and dropped). */
#define WORD_CACHE_MAX_WORDS 2048
#define WORD_CACHE_MAX_HASHES ((size_t)1 << 16)
#define WORD_CACHE_MAX_BYTES ((size_t)1 << 16)

struct local_embed_scratch {
    uint32_t *table; /* open addressing on the hash: feature index + 1, 0 empty */
    size_t tcap;     /* a power of two */
    dfeat *f;
    size_t nf, capf;
    uint32_t *fpos; /* per feature, on the table path: its slot in table */
    size_t capfpos; /* at least capf when the table path adds features */
    int32_t *fmix;  /* per mixed feature: its last occurrence in mix (set by feat_mixed) */
    size_t capfmix;
    wocc *mix;
    size_t nmix, capmix;
    uint32_t *mixf; /* the features with mixed weights */
    size_t nmixf, capmixf;
    double *wbuf; /* one mixed feature's weights, for sorting */
    size_t capw;
    int dim;            /* what bits, multi, first_of and dacc are sized for (0: none yet) */
    uint64_t dmask;     /* dim - 1 when dim is a power of two, else 0 */
    bool by_dim;        /* this text's features are keyed on their dimension (feat_add_dim) */
    uint32_t *first_of; /* per dimension: the first feature reaching it (where bits is set) */
    uint16_t *first16;  /* the same for features added by dimension (at most dim / 2 of them) */
    double *dacc;       /* per dimension: its sum (valid where bits is set) */
    uint64_t *bits;     /* dimensions holding a feature (reset after use) */
    uint64_t *multi;    /* dimensions holding two or more (reset after use) */
    double *sv;         /* per feature: what it adds to its dimension, signed */
    shared_feat *sh;    /* features that share their dimension with another */
    size_t nsh, capsh;
    shared_feat *grp; /* sh grouped by dimension (feat_dims' counting pass) */
    size_t capgrp;
    double *acc; /* per output dimension, in ascending order */
    uint32_t *idx;
    float *val;
    size_t capout;
    ragd_buf word, pad;
    ragd_buf folded;  /* the text being embedded, folded */
    ragd_span *words; /* its words */
    size_t words_cap;
    size_t *offs, offs_cap;
    /* 1 + log(tf) for tf < LOG_TF_MAX, filled on first need (0: not yet;
     * every entry is >= 1): the same double log gives, without the call. */
    double log_tf[LOG_TF_MAX];
    /* The word cache (word_features): a word's features depend on its bytes
     * only, so each distinct word is hashed once per scratch. */
    word_entry *wc;
    size_t nwc, capwc;
    uint32_t *wtab; /* open addressing on the unigram hash: entry + 1, 0 empty */
    size_t wtcap;   /* a power of two, at least twice nwc */
    char *wbytes;   /* the words' bytes, back to back */
    size_t nwb, capwb;
    uint64_t *whash; /* their n-gram hashes, back to back */
    size_t nwh, capwh;
    bool one_shot;  /* a scratch for one text (local_embed_text): no cache */
    word_entry one; /* the word of a one-shot scratch, its hashes at whash */
};

/* a[0..n) == b[0..n): a word is a few bytes, too few for a call to
 * memcmp to pay (8 at a time from 8 on; a shorter one byte by byte). */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
    if (n < 8) {
        unsigned char d = 0;
        for (size_t i = 0; i < n; i++)
            d |= (unsigned char)(a[i] ^ b[i]);
        return d == 0;
    }
    uint64_t x, y;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y) return false;
    }
    if (i == n) return true;
    memcpy(&x, a + n - 8, 8); /* the last 8 bytes, overlapping */
    memcpy(&y, b + n - 8, 8);
    return x == y;
}

/* The cache entry of word w (wl > 0 bytes, whose unigram FNV chain is
 * hu) if the word cache holds it, else NULL (always NULL for a one-shot
 * scratch). Inline: every word of every text asks; two words with one hu
 * are told apart by their bytes. Borrowed from ws. */
static inline const word_entry *local_word_find(const local_embed_scratch *ws, const char *w,
                                                size_t wl, uint64_t hu)
{
    if (!ws->wtab || ws->one_shot) return NULL;
    size_t mask = ws->wtcap - 1, p = (size_t)ragd_fmix64(hu) & mask;
    for (uint32_t e; (e = ws->wtab[p]); p = (p + 1) & mask) {
        const word_entry *x = &ws->wc[e - 1];
        if (x->hu == hu && x->wl == wl && same_bytes(ws->wbytes + x->boff, w, wl)) return x;
    }
    return NULL;
}

/* The features of word w that local_word_find did not find: computed,
 * and kept in the word cache unless the scratch is one-shot
 * (local_words.c). Borrowed from ws: valid until the next call. */
const word_entry *local_word_add(local_embed_scratch *ws, const char *w, size_t wl, uint64_t hu);

/* Copy word bytes into *dst (NUL-terminated), turning U+2019 into '\''. */
size_t local_copy_word(ragd_buf *dst, const char *s, size_t n);

#endif
