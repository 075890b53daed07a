/* The per-document hot path of prediction in C: features, hashed n-grams, stage 1 and
 * the stage-2 inputs of one document's units.
 *
 * cleaner/features.py (with chartable.py, tokens.py, markers.py and hashing.py),
 * cleaner/context.py and cleaner/model.py are the specification: they compute the same
 * numbers with numpy for many documents at once (training, adapting) and are what this
 * file is tested against (tests/test_fastcore.py). numpy spends most of a document's time
 * on call overhead and on whole-text passes; here every unit is read once. Differences
 * are limited to the last bits of a few transcendental functions (numpy's SIMD exp/log).
 * cleaner/fastcore.py is the Python side: it prepares what needs regular expressions and
 * falls back to numpy for texts this file declines (it returns None for them).
 *
 * Built as an optional extension (setup.py): without a C compiler the package installs
 * and predicts with numpy alone.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BMP 0x10000
#define N_LABELS 7

/* Text classes of chartable._text_codes (class counts of the original text). */
enum { T_OTHER, T_LOWER, T_UPPER, T_DIGIT, T_SPACE, T_PUNCT, T_END };
/* Joined-text codes of chartable._joined_codes. */
enum { J_WORD = 1, J_UPPER = 2, J_LOWER = 4, J_TITLE = 6, J_CASE = 6 };
/* Edge flags of chartable._edge_table. */
enum {
    E_UPPER = 1, E_LOWER = 2, E_DIGIT = 4, E_ALNUM = 8, E_TERMINAL = 16, E_CLOSING = 32,
    E_SPACE = 64, E_HASH = 128, E_QUOTE = 256, E_COLON = 512, E_BULLET = 1024,
    E_BULLET_SPACE = 2048
};

/* Own columns, in features.OWN_NAMES order (fastcore.py checks the names). */
enum {
    C_LOG_CHARS, C_LOG_WORDS, C_ALPHA_FRAC, C_DIGIT_FRAC, C_UPPER_FRAC, C_PUNCT_FRAC,
    C_END_TERMINAL, C_END_COLON, C_END_CLOSE, C_END_DIGIT, C_END_ALNUM,
    C_START_UPPER, C_START_LOWER, C_START_DIGIT, C_START_OTHER,
    C_STOP_FRAC, C_LOG_SENTENCES, C_MEAN_WORD_LEN, C_TITLE_CASE, C_ALL_UPPER,
    C_MD_HEADING, C_MD_BULLET, C_MD_LINK_FRAC, C_MD_IMAGE, C_MD_QUOTE, C_HAS_PIPE,
    C_HAS_COPYRIGHT, C_HAS_URL_OR_AT,
    C_REL_POS, C_LOG_INDEX, C_LOG_INDEX_FROM_END, C_CHAR_POS,
    C_BLANK_BEFORE, C_BLANK_AFTER, C_LOG_PARAGRAPH_UNITS, C_INDEX_IN_PARAGRAPH,
    C_LOG_DUPLICATES, C_DUPLICATE_NEARBY, C_CONTAINED_IN_NEIGHBOUR, C_CONTAINS_NEIGHBOUR,
    C_REL_LEN, C_DOC_LOG_UNITS, C_DOC_TERMINAL_FRAC,
    C_LOG_FIRST_WORD_REPEATS, C_LOG_LAST_WORD_REPEATS, C_LOG_SHAPE_RUN,
    C_RULE_BODY, /* ... one per label */
    C_SECTION_MARKER = C_RULE_BODY + N_LABELS,
    N_OWN
};
static const char *OWN_NAMES[N_OWN] = {
    "log_chars", "log_words", "alpha_frac", "digit_frac", "upper_frac", "punct_frac",
    "end_terminal", "end_colon", "end_close", "end_digit", "end_alnum",
    "start_upper", "start_lower", "start_digit", "start_other",
    "stop_frac", "log_sentences", "mean_word_len", "title_case", "all_upper",
    "md_heading", "md_bullet", "md_link_frac", "md_image", "md_quote", "has_pipe",
    "has_copyright", "has_url_or_at",
    "rel_pos", "log_index", "log_index_from_end", "char_pos",
    "blank_before", "blank_after", "log_paragraph_units", "index_in_paragraph",
    "log_duplicates", "duplicate_nearby", "contained_in_neighbour", "contains_neighbour",
    "rel_len", "doc_log_units", "doc_terminal_frac",
    "log_first_word_repeats", "log_last_word_repeats", "log_shape_run",
    "rule_body", "rule_title", "rule_caption", "rule_credit", "rule_promo", "rule_meta",
    "rule_boilerplate", "section_marker",
};
/* features.CONTEXT_NAMES, NEIGHBOURS and WINDOW. */
#define N_CONTEXT 12
static const int CONTEXT_COLUMNS[N_CONTEXT] = {
    C_LOG_CHARS, C_LOG_WORDS, C_END_TERMINAL, C_STOP_FRAC, C_MD_LINK_FRAC, C_BLANK_BEFORE,
    C_START_LOWER, C_CONTAINED_IN_NEIGHBOUR, C_CONTAINS_NEIGHBOUR, C_LOG_FIRST_WORD_REPEATS,
    C_RULE_BODY + 6 /* boilerplate */, C_RULE_BODY + 4 /* promo */,
};
#define N_NEIGHBOURS 4
static const int NEIGHBOURS[N_NEIGHBOURS] = {-2, -1, 1, 2};
#define WINDOW 5
#define N_DENSE (N_OWN + (N_NEIGHBOURS + 1) * N_CONTEXT)
/* features.MIN_CONTAIN_CHARS, markers.MARKER_MAX_WORDS. */
#define MIN_CONTAIN_CHARS 16
#define MARKER_MAX_WORDS 12
/* context.STAGE2_NEIGHBOURS, STAGE2_WINDOW, LINEAR_NEIGHBOURS, MARKER_WINDOW. */
static const int STAGE2_NEIGHBOURS[6] = {-3, -2, -1, 1, 2, 3};
#define STAGE2_WINDOW 8
static const int LINEAR_NEIGHBOURS[4] = {-2, -1, 1, 2};
#define MARKER_WINDOW 8
#define DECAY_CHUNK 240 /* int(DECAY_HALF_LIFE * 16) */
#define STAGE2_WIDTH (10 * N_LABELS + 8)
#define LINEAR_WIDTH (6 * N_LABELS)

/* ----- tables, set once by configure() ------------------------------------------------ */

static PyObject *keep_alive = NULL;     /* the objects the pointers below point into */
static const uint8_t *text_codes;       /* BMP -> T_* */
static const uint8_t *joined_codes;     /* BMP -> J_* */
static const uint16_t *edge_table;      /* BMP -> E_* */
static const uint32_t *lower_table;     /* BMP -> lowercase code point */
static const float *log_table;          /* np.log(float32(k)) for k < log_table_size */
static Py_ssize_t log_table_size;
static const double *decay_down, *decay_up; /* decay**-j, decay**j for j < DECAY_CHUNK */
static double decay;
static uint32_t crc_table[256];
/* crc32 of the prefixes of hashed edge words (hashing._CRC_*). */
static uint32_t CRC_CARET, CRC_DOLLAR, CRC_SPACE, CRC_NO_BIGRAM, CRC_HEAD, CRC_TAIL;
/* Marker pieces (markers._MARKER_PIECES) as code points, and stopwords (UTF-8). */
#define MAX_PIECES 32
static Py_UCS4 pieces[MAX_PIECES][16];
static int piece_len[MAX_PIECES], n_pieces;
/* The first two characters of the pieces, hashed into a bitmap: most places in a key are
 * passed over with one lookup. */
static uint64_t piece_pairs[64];
#define PAIR_BIT(a, b) (((a) * 31u + (b)) & 4095u)
/* chartable._joined_fields by (previous code, code): does str.istitle fail here (1), is
 * the character upper (2), lower or title case (4). */
static uint8_t case_fields[64];
#define STOP_SLOTS 4096
#define STOPWORD_MAX_BYTES 32
static struct { uint32_t crc; int len; const char *bytes; } stop_slots[STOP_SLOTS];
/* One bit per crc & 0xffff of a stopword: most words are ruled out without a probe. */
static uint64_t stop_bits[1024];
static int configured = 0;
/* What the loop over a unit needs of an ASCII character, in one word: its text code, its
 * joined code, whether it is a space, whether it needs a closer look (a control character
 * or one that completes a needle), and its lowercase. */
enum { A_TEXT = 7, A_JOINED_SHIFT = 3, A_SPACE = 64, A_SPECIAL = 128, A_LOWER_SHIFT = 8 };
static uint32_t ascii_info[128];


static uint32_t crc_update(uint32_t crc, const uint8_t *buf, Py_ssize_t n)
{
    crc = ~crc;
    for (Py_ssize_t i = 0; i < n; i++) crc = crc_table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* The register after n zero bytes (crc.shift): crc(a + b) == crc(b) ^ shift(crc(a), len(b)). */
static uint32_t crc_shift(uint32_t x, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) x = crc_table[x & 0xff] ^ (x >> 8);
    return x;
}

static int utf8_encode(Py_UCS4 c, uint8_t *out)
{
    if (c < 0x80) { out[0] = (uint8_t)c; return 1; }
    if (c < 0x800) { out[0] = 0xC0 | (c >> 6); out[1] = 0x80 | (c & 0x3F); return 2; }
    if (c < 0x10000) {
        out[0] = 0xE0 | (c >> 12); out[1] = 0x80 | ((c >> 6) & 0x3F);
        out[2] = 0x80 | (c & 0x3F); return 3;
    }
    out[0] = 0xF0 | (c >> 18); out[1] = 0x80 | ((c >> 12) & 0x3F);
    out[2] = 0x80 | ((c >> 6) & 0x3F); out[3] = 0x80 | (c & 0x3F); return 4;
}

static const char *stopword_find(uint32_t crc, const uint8_t *bytes, int len)
{
    if (!(stop_bits[(crc & 0xffff) >> 6] >> (crc & 63) & 1)) return NULL;
    for (uint32_t s = crc & (STOP_SLOTS - 1);; s = (s + 1) & (STOP_SLOTS - 1)) {
        if (!stop_slots[s].bytes) return NULL;
        if (stop_slots[s].crc == crc && stop_slots[s].len == len
            && memcmp(stop_slots[s].bytes, bytes, len) == 0)
            return stop_slots[s].bytes;
    }
}

static int get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, Py_ssize_t count,
                      int writable, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (view->len != itemsize * count) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes, expected %zd", what, view->len,
                     itemsize * count);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *configure(PyObject *self, PyObject *args)
{
    PyObject *t_text, *t_joined, *t_edge, *t_lower, *t_log, *down, *up, *piece_list, *stops;
    double decay_arg;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!O!dO!O!", &PyBytes_Type, &t_text, &PyBytes_Type,
                          &t_joined, &PyBytes_Type, &t_edge, &PyBytes_Type, &t_lower,
                          &PyBytes_Type, &t_log, &PyBytes_Type, &down, &PyBytes_Type, &up,
                          &decay_arg, &PyList_Type, &piece_list, &PyList_Type, &stops))
        return NULL;
    if (PyBytes_GET_SIZE(t_text) != BMP || PyBytes_GET_SIZE(t_joined) != BMP
        || PyBytes_GET_SIZE(t_edge) != 2 * BMP || PyBytes_GET_SIZE(t_lower) != 4 * BMP
        || PyBytes_GET_SIZE(t_log) % 4 || PyBytes_GET_SIZE(t_log) < 8
        || PyBytes_GET_SIZE(down) != 8 * DECAY_CHUNK || PyBytes_GET_SIZE(up) != 8 * DECAY_CHUNK
        || PyList_GET_SIZE(piece_list) > MAX_PIECES || PyList_GET_SIZE(stops) > STOP_SLOTS / 4) {
        PyErr_SetString(PyExc_ValueError, "tables of the wrong size");
        return NULL;
    }
    PyObject *keep = Py_BuildValue("(OOOOOOOOO)", t_text, t_joined, t_edge, t_lower, t_log,
                                   down, up, piece_list, stops);
    if (!keep) return NULL;
    n_pieces = (int)PyList_GET_SIZE(piece_list);
    memset(piece_pairs, 0, sizeof piece_pairs);
    for (int pair = 0; pair < 64; pair++) {
        int prev = pair >> 3, cs = pair & J_CASE;
        int capital = cs == J_UPPER || cs == J_TITLE, prev_cased = (prev & J_CASE) != 0;
        case_fields[pair] = ((capital && prev_cased) || (cs == J_LOWER && !prev_cased))
                            | (cs == J_UPPER) << 1 | (cs == J_LOWER || cs == J_TITLE) << 2;
    }
    for (int i = 0; i < n_pieces; i++) {
        PyObject *p = PyList_GET_ITEM(piece_list, i);
        if (!PyUnicode_Check(p) || PyUnicode_GET_LENGTH(p) < 2 || PyUnicode_GET_LENGTH(p) > 16) {
            Py_DECREF(keep);
            PyErr_SetString(PyExc_ValueError, "marker pieces must be 2-16 characters");
            return NULL;
        }
        piece_len[i] = (int)PyUnicode_GET_LENGTH(p);
        for (int k = 0; k < piece_len[i]; k++) pieces[i][k] = PyUnicode_READ_CHAR(p, k);
        uint32_t bit = PAIR_BIT(pieces[i][0], pieces[i][1]);
        piece_pairs[bit >> 6] |= (uint64_t)1 << (bit & 63);
    }
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        crc_table[b] = c;
    }
    CRC_CARET = crc_update(0, (const uint8_t *)"^", 1);
    CRC_DOLLAR = crc_update(0, (const uint8_t *)"$", 1);
    CRC_SPACE = crc_update(0, (const uint8_t *)" ", 1);
    CRC_NO_BIGRAM = crc_update(0, (const uint8_t *)"^^", 2);
    CRC_HEAD = crc_update(0, (const uint8_t *)"<", 1);
    CRC_TAIL = crc_update(0, (const uint8_t *)">", 1);
    memset(stop_slots, 0, sizeof stop_slots);
    memset(stop_bits, 0, sizeof stop_bits);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(stops); i++) {
        PyObject *w = PyList_GET_ITEM(stops, i);
        if (!PyBytes_Check(w)) {
            Py_DECREF(keep);
            PyErr_SetString(PyExc_TypeError, "stopwords must be UTF-8 bytes");
            return NULL;
        }
        const uint8_t *bytes = (const uint8_t *)PyBytes_AS_STRING(w);
        int len = (int)PyBytes_GET_SIZE(w);
        if (len > STOPWORD_MAX_BYTES) {
            Py_DECREF(keep);
            PyErr_SetString(PyExc_ValueError, "a stopword longer than STOPWORD_MAX_BYTES");
            return NULL;
        }
        uint32_t crc = crc_update(0, bytes, len);
        uint32_t s = crc & (STOP_SLOTS - 1);
        while (stop_slots[s].bytes) s = (s + 1) & (STOP_SLOTS - 1);
        stop_slots[s].crc = crc;
        stop_slots[s].len = len;
        stop_slots[s].bytes = (const char *)bytes;
        stop_bits[(crc & 0xffff) >> 6] |= (uint64_t)1 << (crc & 63);
    }
    Py_XDECREF(keep_alive);
    keep_alive = keep;
    text_codes = (const uint8_t *)PyBytes_AS_STRING(t_text);
    joined_codes = (const uint8_t *)PyBytes_AS_STRING(t_joined);
    edge_table = (const uint16_t *)PyBytes_AS_STRING(t_edge);
    lower_table = (const uint32_t *)PyBytes_AS_STRING(t_lower);
    log_table = (const float *)PyBytes_AS_STRING(t_log);
    log_table_size = PyBytes_GET_SIZE(t_log) / 4;
    decay_down = (const double *)PyBytes_AS_STRING(down);
    decay_up = (const double *)PyBytes_AS_STRING(up);
    decay = decay_arg;
    for (uint32_t c = 0; c < 128; c++) {
        uint32_t lc = lower_table[c];
        int special = c <= 0x10 || lc == '[' || lc == '|' || lc == ')' || lc == '@' || lc == 'p'
                      || lc == '.';
        ascii_info[c] = text_codes[c] | (uint32_t)joined_codes[c] << A_JOINED_SHIFT
                        | (edge_table[c] & E_SPACE ? A_SPACE : 0) | (special ? A_SPECIAL : 0)
                        | lc << A_LOWER_SHIFT;
    }
    configured = 1;
    Py_RETURN_NONE;
}

/* ----- characters ----------------------------------------------------------------------- */

/* Whether the character at ``p`` of a text is a space, or ``p`` is its end. */
static inline int space_follows(int kind, const void *data, Py_ssize_t len, Py_ssize_t p)
{
    if (p >= len) return 1;
    Py_UCS4 d = PyUnicode_READ(kind, data, p);
    return text_codes[d < BMP ? d : BMP - 1] == T_SPACE;
}

static inline uint8_t joined_code(Py_UCS4 c)
{
    if (c < BMP) return joined_codes[c];
    uint8_t word = (Py_UNICODE_ISALNUM(c) || c == '_') ? J_WORD : 0;
    if (Py_UNICODE_ISUPPER(c)) return word | J_UPPER;
    if (Py_UNICODE_ISLOWER(c)) return word | J_LOWER;
    return word | (Py_UNICODE_ISTITLE(c) ? J_TITLE : 0);
}

static inline uint16_t edge_flags(Py_UCS4 c)
{
    if (c < BMP) return edge_table[c];
    return (Py_UNICODE_ISUPPER(c) ? E_UPPER : 0) | (Py_UNICODE_ISLOWER(c) ? E_LOWER : 0)
           | (Py_UNICODE_ISDIGIT(c) ? E_DIGIT : 0) | (Py_UNICODE_ISALNUM(c) ? E_ALNUM : 0)
           | (Py_UNICODE_ISSPACE(c) ? E_SPACE : 0);
}

static inline Py_UCS4 lower_char(Py_UCS4 c)
{
    return c < BMP ? lower_table[c] : Py_UNICODE_TOLOWER(c);
}

static inline float log_count(Py_ssize_t k) /* np.log(np.float32(k)) */
{
    return k < log_table_size ? log_table[k] : logf((float)k);
}

/* ----- growable arrays and an exact-match table of code-point strings ------------------- */

typedef struct { Py_UCS4 *data; Py_ssize_t len, cap; } Cps;

static int cps_grow(Cps *a)
{
    Py_ssize_t cap = a->cap ? 2 * a->cap : 1024;
    Py_UCS4 *data = PyMem_Realloc(a->data, cap * sizeof *data);
    if (!data) return -1;
    a->data = data;
    a->cap = cap;
    return 0;
}

static int cps_reserve(Cps *a, Py_ssize_t size)
{
    while (a->cap < size)
        if (cps_grow(a) < 0) return -1;
    return 0;
}

/* How many times each string occurs: strings are (offset, length) into one buffer, with
 * a hash each (equal strings, equal hashes). */
static int count_equal(const Py_UCS4 *buf, const Py_ssize_t *off, const Py_ssize_t *len,
                       const uint64_t *hash, Py_ssize_t n, Py_ssize_t *count, Py_ssize_t *id)
{
    Py_ssize_t slots = 16;
    while (slots < 2 * n) slots *= 2;
    Py_ssize_t *table = PyMem_Malloc(slots * sizeof *table);
    if (!table) return -1;
    for (Py_ssize_t s = 0; s < slots; s++) table[s] = -1;
    for (Py_ssize_t i = 0; i < n; i++) count[i] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t h = (hash[i] ^ (uint64_t)len[i]) * 0x9E3779B97F4A7C15ull;
        Py_ssize_t s = (Py_ssize_t)((h >> 32) & (uint64_t)(slots - 1));
        for (;; s = (s + 1) & (slots - 1)) {
            Py_ssize_t j = table[s];
            if (j < 0) { table[s] = i; id[i] = i; break; }
            if (len[j] == len[i]
                && memcmp(buf + off[j], buf + off[i], len[i] * sizeof(Py_UCS4)) == 0) {
                id[i] = j; break;
            }
        }
        count[id[i]]++;
    }
    for (Py_ssize_t i = 0; i < n; i++) count[i] = count[id[i]];
    PyMem_Free(table);
    return 0;
}

static int contains(const Py_UCS4 *hay, Py_ssize_t nh, const Py_UCS4 *needle, Py_ssize_t nn)
{
    for (Py_ssize_t i = 0; i + nn <= nh; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nn * sizeof(Py_UCS4)) == 0) return 1;
    return 0;
}

/* ----- one document's features ---------------------------------------------------------- */

typedef struct {
    Py_ssize_t start, end, paragraph;
    Py_ssize_t nwords, word0;        /* its words: word0 .. word0 + nwords - 1 */
    Py_ssize_t key_off, key_len;     /* its words, lowercased, joined by spaces */
    Py_ssize_t first_off, first_len, last_off, last_len; /* first and last word, in keys */
    float chars, alpha, upper, digit, punct, sentences;
    Py_ssize_t title_breaks, n_upper, n_lower_title, stops;
    uint16_t first_flags, last_flags;
    uint32_t head_crc, tail_crc;
    uint8_t md_bullet, md_image, has_pipe, has_copyright, has_url;
} UnitInfo;

typedef struct { uint32_t crc; Py_ssize_t bmp_size; } WordInfo;

static int words_reserve(WordInfo **words, Py_ssize_t *cap, Py_ssize_t size)
{
    if (*cap >= size) return 0;
    Py_ssize_t new_cap = *cap ? *cap : 4096;
    while (new_cap < size) new_cap *= 2;
    WordInfo *w = PyMem_Realloc(*words, new_cap * sizeof *w);
    if (!w) return -1;
    *words = w;
    *cap = new_cap;
    return 0;
}

/* Whether a word (its crc32, and its characters) is a stopword: its UTF-8 is made only
 * when its crc32 is one a stopword has. */
static int is_stopword(const WordInfo *w, const Py_UCS4 *chars, Py_ssize_t n)
{
    uint32_t crc = w->crc;
    if (!(stop_bits[(crc & 0xffff) >> 6] >> (crc & 63) & 1)) return 0;
    uint8_t bytes[STOPWORD_MAX_BYTES + 4];
    int len = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (len > STOPWORD_MAX_BYTES) return 0;
        len += utf8_encode(chars[k], bytes + len);
    }
    return len <= STOPWORD_MAX_BYTES && stopword_find(crc, bytes, len) != NULL;
}


/* A unit's hashed columns (below 2**bits) in order: by insertion for the few of a short
 * line, by radix (6 bits a pass, through tmp) for the hundreds of a paragraph. */
static void sort_u32(uint32_t *a, Py_ssize_t n, int bits, uint32_t *tmp)
{
    if (n > 32) {
        uint32_t *src = a, *dst = tmp;
        for (int shift = 0; shift < bits; shift += 6) {
            Py_ssize_t count[65] = {0};
            for (Py_ssize_t i = 0; i < n; i++) count[((src[i] >> shift) & 63) + 1]++;
            for (int b = 0; b < 64; b++) count[b + 1] += count[b];
            for (Py_ssize_t i = 0; i < n; i++) dst[count[(src[i] >> shift) & 63]++] = src[i];
            uint32_t *swap = src; src = dst; dst = swap;
        }
        if (src != a) memcpy(a, src, n * sizeof *a);
        return;
    }
    for (Py_ssize_t i = 1; i < n; i++) {
        uint32_t v = a[i];
        Py_ssize_t j = i;
        while (j > 0 && a[j - 1] > v) { a[j] = a[j - 1]; j--; }
        a[j] = v;
    }
}

/*
 * features(text, texts, units, rules, link_frac, char_pos, table, bias, n_bits,
 *          dense_out, proba_out, linear_out, words_out) -> list of marker candidates, or None
 *
 * text: the document; texts: its units' texts with Markdown link targets blanked; units:
 * its Unit tuples; rules: int8 label index of the rule that fired on each unit or -1;
 * link_frac: float32 per unit or None (all 0); char_pos: float64 per unit or None (start
 * over the text's length); table: stage 1's (2**n_bits, K) float32 weights and bias its
 * K biases (K = 7, or 14 with the linear half). Fills dense_out (n, N_DENSE) but for the
 * section-marker column, proba_out (n, 7) and linear_out (n, 7; None if K = 7) with
 * stage-1 logits, and words_out (n,) int64 with word counts. Returns the units on which
 * the caller must try SECTION_MARKER, or None where numpy must do the work (a character
 * whose lowercase depends on context, paragraphs out of order, units that hold every
 * separator numpy could join them with, or a unit whose span is not its text's).
 */
static PyObject *features(PyObject *self, PyObject *args)
{
    PyObject *text, *texts, *units, *rules_obj, *link_obj, *pos_obj, *table_obj, *bias_obj;
    PyObject *dense_obj, *z_obj, *lin_obj, *words_obj;
    int n_bits;
    if (!PyArg_ParseTuple(args, "UO!O!OOOOOiOOOO", &text, &PyList_Type, &texts, &PyList_Type,
                          &units, &rules_obj, &link_obj, &pos_obj, &table_obj, &bias_obj,
                          &n_bits, &dense_obj, &z_obj, &lin_obj, &words_obj))
        return NULL;
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "_fastcore.configure() was not called");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(units);
    if (PyList_GET_SIZE(texts) != n || n_bits < 1 || n_bits > 30) {
        PyErr_SetString(PyExc_ValueError, "texts and units differ in length, or bad n_bits");
        return NULL;
    }
    Py_buffer rules = {0}, link = {0}, pos = {0}, tab = {0}, bias = {0}, dense = {0},
              zb = {0}, lb = {0}, wb = {0};
    PyObject *result = NULL;
    UnitInfo *u = NULL;
    WordInfo *words = NULL;
    Py_ssize_t words_cap = 0, n_words_total = 0;
    Cps keys = {0}, low = {0};
    Py_ssize_t *scratch = NULL;
    uint32_t *cols = NULL;
    Py_ssize_t cols_cap = 0;
    double *cum = NULL;

    if (get_buffer(rules_obj, &rules, 1, n, 0, "rules") < 0) goto done;
    if (link_obj != Py_None && get_buffer(link_obj, &link, 4, n, 0, "link_frac") < 0) goto done;
    if (pos_obj != Py_None && get_buffer(pos_obj, &pos, 8, n, 0, "char_pos") < 0) goto done;
    if (PyObject_GetBuffer(bias_obj, &bias, PyBUF_C_CONTIGUOUS) < 0) goto done;
    Py_ssize_t K = bias.len / 4;
    if ((K != N_LABELS && K != 2 * N_LABELS) || (K == 2 * N_LABELS) != (lin_obj != Py_None)) {
        PyErr_SetString(PyExc_ValueError, "bias must hold 7 or 14 values, 14 with linear_out");
        goto done;
    }
    if (get_buffer(table_obj, &tab, 4, ((Py_ssize_t)1 << n_bits) * K, 0, "table") < 0)
        goto done;
    if (get_buffer(dense_obj, &dense, 4, n * N_DENSE, 1, "dense") < 0) goto done;
    if (get_buffer(z_obj, &zb, 4, n * N_LABELS, 1, "proba_out") < 0) goto done;
    if (lin_obj != Py_None && get_buffer(lin_obj, &lb, 4, n * N_LABELS, 1, "linear_out") < 0)
        goto done;
    if (get_buffer(words_obj, &wb, 8, n, 1, "words") < 0) goto done;
    const int8_t *rule = rules.buf;
    const float *table = tab.buf, *bias_v = bias.buf;
    float *D = dense.buf, *Z = zb.buf, *LZ = lb.buf;
    int64_t *word_counts = wb.buf;
    memset(D, 0, n * N_DENSE * sizeof(float));

    u = PyMem_Calloc(n ? n : 1, sizeof *u);
    scratch = PyMem_Malloc((5 * n + 1) * sizeof *scratch);
    if (!u || !scratch) { PyErr_NoMemory(); goto done; }

    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t text_len = PyUnicode_GET_LENGTH(text);
    int long_s = 0; /* U+017F (long s): SECTION_MARKER may match where no piece is held */
    uint32_t controls = 0; /* which unit-joining separators the units hold */

    for (Py_ssize_t i = 0; i < n; i++) {
        UnitInfo *ui = &u[i];
        PyObject *tup = PyList_GET_ITEM(units, i);
        PyObject *t = PyList_GET_ITEM(texts, i);
        if (!PyTuple_Check(tup) || PyTuple_GET_SIZE(tup) < 6 || !PyUnicode_Check(t)) {
            PyErr_SetString(PyExc_TypeError, "units must be Unit tuples and texts strings");
            goto done;
        }
        ui->start = PyLong_AsSsize_t(PyTuple_GET_ITEM(tup, 1));
        ui->end = PyLong_AsSsize_t(PyTuple_GET_ITEM(tup, 2));
        ui->paragraph = PyLong_AsSsize_t(PyTuple_GET_ITEM(tup, 5));
        if (PyErr_Occurred()) goto done;
        Py_ssize_t L = PyUnicode_GET_LENGTH(t);
        if (ui->start < 0 || ui->end > text_len || ui->end - ui->start != L) {
            Py_INCREF(Py_None); result = Py_None; goto done; /* not a span of this text */
        }

        /* Class counts of the original text (chartable._class_counts): in the pass over the
         * unit below when its text is the original's (no link target blanked), else in a
         * pass of their own. A sentence end is terminal punctuation before a space or the
         * end of the text. */
        Py_ssize_t count[8] = {0}, sent = 0;
        const int same = t == PyTuple_GET_ITEM(tup, 0);
        if (!same) {
            for (Py_ssize_t p = ui->start; p < ui->end; p++) {
                Py_UCS4 c = PyUnicode_READ(kind, data, p);
                uint8_t code = text_codes[c < BMP ? c : BMP - 1];
                count[code]++;
                if (code == T_END) sent += space_follows(kind, data, text_len, p + 1);
            }
        }

        /* The unit's own (masked) text: case runs, words, edges. Room for all of it first,
         * so the loop writes without checks. */
        int tk = PyUnicode_KIND(t);
        const void *td = PyUnicode_DATA(t);
        if (cps_reserve(&low, L) < 0 || cps_reserve(&keys, keys.len + L + 1) < 0
            || words_reserve(&words, &words_cap, n_words_total + L + 1) < 0) {
            PyErr_NoMemory(); goto done;
        }
        Py_UCS4 *lowp = low.data, *keyp = keys.data + keys.len;
        uint8_t prev = 0;
        Py_ssize_t title_breaks = 0, n_upper = 0, n_lower_title = 0, stops = 0;
        ui->word0 = n_words_total;
        ui->key_off = keys.len;
        Py_ssize_t f = -1, l = -1;
        int held = 0;               /* the needles found, as below */
        WordInfo *w = NULL;         /* the word being read */
        Py_UCS4 *wstart = NULL;     /* its characters in the key */
        for (Py_ssize_t k = 0; k < L; k++) {
            Py_UCS4 c = PyUnicode_READ(tk, td, k);
            uint8_t code;
            Py_UCS4 lc;
            if (c < 0x80) {
                const uint32_t info = ascii_info[c];
                if (same) {
                    uint8_t tcode = info & A_TEXT;
                    count[tcode]++;
                    if (tcode == T_END) sent += space_follows(kind, data, text_len, ui->start + k + 1);
                }
                code = (info >> A_JOINED_SHIFT) & 7;
                lc = info >> A_LOWER_SHIFT;
                if (!(info & A_SPACE)) { if (f < 0) f = k; l = k; }
                if (info & A_SPECIAL) {
                    if (c <= 0x10) controls |= 1u << c;
                    /* needles of md_image (1), has_pipe (2), has_copyright (4), has_url (8) */
                    else switch (lc) {
                    case '[': if (k && lowp[k - 1] == '!') held |= 1; break;
                    case '|': held |= 2; break;
                    case ')': if (k >= 2 && lowp[k - 1] == 'c' && lowp[k - 2] == '(') held |= 4; break;
                    case '@': held |= 8; break;
                    case 'p':
                        if (k >= 3 && lowp[k - 1] == 't' && lowp[k - 2] == 't' && lowp[k - 3] == 'h')
                            held |= 8;
                        break;
                    case '.':
                        if (k >= 3 && lowp[k - 1] == 'w' && lowp[k - 2] == 'w' && lowp[k - 3] == 'w')
                            held |= 8;
                        break;
                    }
                }
            } else {
                if (same) {
                    uint8_t tcode = text_codes[c < BMP ? c : BMP - 1];
                    count[tcode]++;
                    if (tcode == T_END) sent += space_follows(kind, data, text_len, ui->start + k + 1);
                }
                if (c == 0x0130 || c == 0x03A3) { Py_INCREF(Py_None); result = Py_None; goto done; }
                if (c == 0x017F) long_s = 1;
                code = joined_code(c);
                lc = lower_char(c);
                if (!(edge_flags(c) & E_SPACE)) { if (f < 0) f = k; l = k; }
                if (lc == 0xA9) held |= 4;
            }
            uint8_t fields = case_fields[(prev & 7) << 3 | (code & 7)];
            title_breaks += fields & 1;
            n_upper += (fields >> 1) & 1;
            n_lower_title += fields >> 2;
            lowp[k] = lc;
            if (code & J_WORD) {
                if (!(prev & J_WORD)) { /* a word starts */
                    if (w) {
                        stops += is_stopword(w, wstart, keyp - wstart);
                        *keyp++ = ' ';
                    }
                    w = &words[n_words_total++];
                    w->crc = ~0u;  /* the register, inverted at the word's end */
                    w->bmp_size = 0;
                    wstart = keyp;
                }
                uint32_t crc = w->crc;
                if (lc < 0x80) {
                    crc = crc_table[(crc ^ lc) & 0xff] ^ (crc >> 8);
                    w->bmp_size++;
                } else {
                    uint8_t buf[4];
                    int nb = utf8_encode(lc, buf);
                    for (int b = 0; b < nb; b++) crc = crc_table[(crc ^ buf[b]) & 0xff] ^ (crc >> 8);
                    w->bmp_size += nb == 4 ? 3 : nb;
                }
                w->crc = crc;
                *keyp++ = lc;
            } else if (w && (prev & J_WORD)) {
                w->crc = ~w->crc;
            }
            prev = code;
        }
        ui->chars = (float)L - (float)count[T_SPACE];
        ui->alpha = (float)(count[T_LOWER] + count[T_UPPER]);
        ui->upper = (float)count[T_UPPER];
        ui->digit = (float)count[T_DIGIT];
        ui->punct = (float)(count[T_PUNCT] + count[T_END]);
        ui->sentences = (float)sent;
        if (w && (prev & J_WORD)) w->crc = ~w->crc;
        if (w) stops += is_stopword(w, wstart, keyp - wstart);
        low.len = L;
        keys.len = keyp - keys.data;
        ui->nwords = n_words_total - ui->word0;
        ui->key_len = keys.len - ui->key_off;
        ui->title_breaks = title_breaks; ui->n_upper = n_upper;
        ui->n_lower_title = n_lower_title;
        /* First and last word inside the key. */
        ui->first_off = ui->last_off = ui->key_off;
        ui->first_len = ui->last_len = 0;
        if (ui->nwords) {
            const Py_UCS4 *key = keys.data + ui->key_off;
            Py_ssize_t a = 0;
            while (a < ui->key_len && key[a] != ' ') a++;
            ui->first_len = a;
            Py_ssize_t b = ui->key_len;
            while (b > 0 && key[b - 1] != ' ') b--;
            ui->last_off = ui->key_off + b;
            ui->last_len = ui->key_len - b;
        }
        ui->stops = stops;

        /* Edges of the stripped unit. */
        if (f < 0) {
            ui->first_flags = ui->last_flags = 0;
            ui->head_crc = CRC_HEAD;
            ui->tail_crc = CRC_TAIL;
        } else {
            Py_UCS4 fc = PyUnicode_READ(tk, td, f), lcp = PyUnicode_READ(tk, td, l);
            ui->first_flags = edge_flags(fc);
            ui->last_flags = edge_flags(lcp);
            if (ui->first_flags & E_BULLET) ui->md_bullet = 1;
            else if ((ui->first_flags & E_BULLET_SPACE) && f + 1 <= l
                     && PyUnicode_READ(tk, td, f + 1) == ' ')
                ui->md_bullet = 1;
            Py_ssize_t size = l + 1 - f < 3 ? l + 1 - f : 3;
            uint8_t buf[16];
            int nb = 0;
            buf[nb++] = '<';
            for (Py_ssize_t k = f; k < f + size; k++) nb += utf8_encode(low.data[k], buf + nb);
            ui->head_crc = crc_update(0, buf, nb);
            nb = 0;
            buf[nb++] = '>';
            for (Py_ssize_t k = l + 1 - size; k <= l; k++) nb += utf8_encode(low.data[k], buf + nb);
            ui->tail_crc = crc_update(0, buf, nb);
        }
        ui->md_image = (held & 1) != 0;
        ui->has_pipe = (held & 2) != 0;
        ui->has_copyright = (held & 4) != 0;
        ui->has_url = (held & 8) != 0;
    }
    /* tokens._join: the numpy path must cope with units holding every separator. */
    {
        const uint32_t separators = 0x1FF | (7u << 14); /* \x00-\x08, \x0e-\x10 */
        if ((controls & separators) == separators) {
            Py_INCREF(Py_None); result = Py_None; goto done;
        }
    }

    /* Paragraph sizes: runs of one paragraph number (numpy counts equal numbers; they are
     * the same when the numbers never go down, which segment and units_of_lines ensure). */
    for (Py_ssize_t i = 1; i < n; i++)
        if (u[i].paragraph < u[i - 1].paragraph) {
            Py_INCREF(Py_None); result = Py_None; goto done;
        }

    Py_ssize_t *key_count = scratch, *key_id = scratch + n, *first_count = scratch + 2 * n,
               *last_count = scratch + 3 * n, *tmp_id = scratch + 4 * n;
    {
        /* Keys hash by their words' crc32s, first and last words by their own. */
        Py_ssize_t *off = PyMem_Malloc(2 * (n ? n : 1) * sizeof *off);
        uint64_t *hash = PyMem_Malloc((n ? n : 1) * sizeof *hash);
        if (!off || !hash) { PyMem_Free(off); PyMem_Free(hash); PyErr_NoMemory(); goto done; }
        Py_ssize_t *len = off + n;
        for (Py_ssize_t i = 0; i < n; i++) {
            uint64_t h = 0;
            for (Py_ssize_t k = 0; k < u[i].nwords; k++)
                h = (h + words[u[i].word0 + k].crc) * 0x100000001B3ull;
            hash[i] = h;
            off[i] = u[i].key_off; len[i] = u[i].key_len;
        }
        int bad = count_equal(keys.data, off, len, hash, n, key_count, key_id) < 0;
        for (Py_ssize_t i = 0; i < n && !bad; i++) {
            off[i] = u[i].first_off; len[i] = u[i].first_len;
            hash[i] = u[i].nwords ? words[u[i].word0].crc : 0;
        }
        bad = bad || count_equal(keys.data, off, len, hash, n, first_count, tmp_id) < 0;
        for (Py_ssize_t i = 0; i < n && !bad; i++) {
            off[i] = u[i].last_off; len[i] = u[i].last_len;
            hash[i] = u[i].nwords ? words[u[i].word0 + u[i].nwords - 1].crc : 0;
        }
        bad = bad || count_equal(keys.data, off, len, hash, n, last_count, tmp_id) < 0;
        PyMem_Free(off);
        PyMem_Free(hash);
        if (bad) { PyErr_NoMemory(); goto done; }
    }
    float longest = 0, terminal = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (u[i].chars > longest) longest = u[i].chars;
        terminal += (u[i].last_flags & E_TERMINAL) != 0;
    }
    const float rel_den = (float)(n - 1 > 1 ? n - 1 : 1);
    const float longest_den = longest > 1 ? longest : 1;
    const float doc_log_units = (float)log1p((double)n);
    const float terminal_frac = terminal / (float)(n > 1 ? n : 1);
    Py_ssize_t first_in_par = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        UnitInfo *ui = &u[i];
        float *o = D + i * N_DENSE;
        float nw = (float)ui->nwords;
        float safe = ui->chars > 1 ? ui->chars : 1;
        o[C_LOG_CHARS] = log1pf(ui->chars);
        o[C_LOG_WORDS] = log1pf(nw);
        o[C_ALPHA_FRAC] = ui->alpha / safe;
        o[C_DIGIT_FRAC] = ui->digit / safe;
        o[C_UPPER_FRAC] = ui->upper / (ui->alpha > 1 ? ui->alpha : 1);
        o[C_PUNCT_FRAC] = ui->punct / safe;
        uint16_t ff = ui->first_flags, lf = ui->last_flags;
        o[C_END_TERMINAL] = (lf & E_TERMINAL) != 0;
        o[C_END_COLON] = (lf & E_COLON) != 0;
        o[C_END_CLOSE] = (lf & E_CLOSING) != 0;
        o[C_END_DIGIT] = (lf & E_DIGIT) != 0;
        o[C_END_ALNUM] = (lf & E_ALNUM) != 0;
        o[C_START_UPPER] = (ff & E_UPPER) != 0;
        o[C_START_LOWER] = (ff & E_LOWER) != 0;
        o[C_START_DIGIT] = (ff & E_DIGIT) != 0;
        o[C_MD_HEADING] = (ff & E_HASH) != 0;
        o[C_MD_QUOTE] = (ff & E_QUOTE) != 0;
        o[C_START_OTHER] = (ff & E_ALNUM) == 0;
        float nw1 = nw > 1 ? nw : 1;
        o[C_STOP_FRAC] = (float)ui->stops / nw1;
        o[C_LOG_SENTENCES] = log1pf(ui->sentences);
        o[C_MEAN_WORD_LEN] = ui->alpha / nw1 / 10.0f;
        int cased = ui->n_upper + ui->n_lower_title > 0;
        o[C_TITLE_CASE] = cased && ui->title_breaks == 0;
        o[C_ALL_UPPER] = ui->n_upper > 0 && ui->n_lower_title == 0;
        o[C_MD_BULLET] = ui->md_bullet;
        o[C_MD_LINK_FRAC] = link.buf ? ((const float *)link.buf)[i] : 0.0f;
        o[C_MD_IMAGE] = ui->md_image;
        o[C_HAS_PIPE] = ui->has_pipe;
        o[C_HAS_COPYRIGHT] = ui->has_copyright;
        o[C_HAS_URL_OR_AT] = ui->has_url;
        float idx = (float)i;
        o[C_REL_POS] = idx / rel_den;
        o[C_LOG_INDEX] = log1pf(idx);
        o[C_LOG_INDEX_FROM_END] = log1pf((float)(n - 1) - idx);
        o[C_CHAR_POS] = pos.buf ? (float)((const double *)pos.buf)[i]
                                : (float)((double)ui->start / (double)(text_len > 1 ? text_len : 1));
        int blank_before = i == 0 || ui->paragraph != u[i - 1].paragraph;
        o[C_BLANK_BEFORE] = blank_before;
        o[C_BLANK_AFTER] = i == n - 1 || ui->paragraph != u[i + 1].paragraph;
        if (blank_before) {
            first_in_par = i;
            Py_ssize_t j = i;
            while (j < n && u[j].paragraph == ui->paragraph) j++;
            for (Py_ssize_t k = i; k < j; k++)
                D[k * N_DENSE + C_LOG_PARAGRAPH_UNITS] = (float)log1p((double)(j - i));
        }
        float in_par = (float)(i - first_in_par);
        o[C_INDEX_IN_PARAGRAPH] = (in_par < 10 ? in_par : 10) / 10.0f;
        o[C_LOG_DUPLICATES] = log_count(key_count[i]);
        o[C_REL_LEN] = ui->chars / longest_den;
        o[C_DOC_LOG_UNITS] = doc_log_units;
        o[C_DOC_TERMINAL_FRAC] = terminal_frac;
        o[C_LOG_FIRST_WORD_REPEATS] = log_count(first_count[i]);
        o[C_LOG_LAST_WORD_REPEATS] = log_count(last_count[i]);
        if (rule[i] >= 0 && rule[i] < N_LABELS) o[C_RULE_BODY + rule[i]] = 1;
        word_counts[i] = ui->nwords;
    }
    /* Neighbours at distance 1 and 2: the same text, or one holding the other. */
    for (Py_ssize_t i = 0; i < n; i++) {
        for (Py_ssize_t d = 1; d <= 2 && i + d < n; d++) {
            Py_ssize_t j = i + d;
            if (key_id[i] == key_id[j] && u[i].nwords > 0) {
                D[i * N_DENSE + C_DUPLICATE_NEARBY] = 1;
                D[j * N_DENSE + C_DUPLICATE_NEARBY] = 1;
            }
            for (int order = 0; order < 2; order++) {
                Py_ssize_t inner = order ? j : i, outer = order ? i : j;
                if (u[inner].key_len >= MIN_CONTAIN_CHARS && u[outer].key_len > u[inner].key_len
                    && contains(keys.data + u[outer].key_off, u[outer].key_len,
                                keys.data + u[inner].key_off, u[inner].key_len)) {
                    D[inner * N_DENSE + C_CONTAINED_IN_NEIGHBOUR] = 1;
                    D[outer * N_DENSE + C_CONTAINS_NEIGHBOUR] = 1;
                }
            }
        }
    }
    /* Runs of units of the same shape. */
    {
        Py_ssize_t run_start = 0;
        for (Py_ssize_t i = 0; i <= n; i++) {
            int new_run = i == n || i == 0;
            if (!new_run) {
                float a = (u[i - 1].nwords < 12 ? (float)u[i - 1].nwords : 12.0f)
                          + 100.0f * D[(i - 1) * N_DENSE + C_END_TERMINAL];
                float b = (u[i].nwords < 12 ? (float)u[i].nwords : 12.0f)
                          + 100.0f * D[i * N_DENSE + C_END_TERMINAL];
                new_run = fabsf(b - a) > 1;
            }
            if (new_run && i > 0) {
                float v = (float)log((double)(i - run_start));
                for (Py_ssize_t k = run_start; k < i; k++) D[k * N_DENSE + C_LOG_SHAPE_RUN] = v;
                run_start = i;
            }
        }
    }
    /* Context: neighbours' measures and their window mean. */
    cum = PyMem_Malloc((n + 1) * N_CONTEXT * sizeof *cum);
    if (!cum) { PyErr_NoMemory(); goto done; }
    for (int c = 0; c < N_CONTEXT; c++) cum[c] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        float *o = D + i * N_DENSE;
        for (int c = 0; c < N_CONTEXT; c++)
            cum[(i + 1) * N_CONTEXT + c] = cum[i * N_CONTEXT + c] + (double)o[CONTEXT_COLUMNS[c]];
        for (int k = 0; k < N_NEIGHBOURS; k++) {
            Py_ssize_t j = i + NEIGHBOURS[k];
            if (j < 0 || j >= n) continue;
            for (int c = 0; c < N_CONTEXT; c++)
                o[N_OWN + k * N_CONTEXT + c] = D[j * N_DENSE + CONTEXT_COLUMNS[c]];
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t lo = i - WINDOW > 0 ? i - WINDOW : 0, hi = i + WINDOW + 1 < n ? i + WINDOW + 1 : n;
        float *o = D + i * N_DENSE + N_OWN + N_NEIGHBOURS * N_CONTEXT;
        for (int c = 0; c < N_CONTEXT; c++)
            o[c] = (float)((cum[hi * N_CONTEXT + c] - cum[lo * N_CONTEXT + c]) / (double)(hi - lo));
    }

    /* Hashed n-grams of each unit, and stage 1's logits (hashing.hashed_parts, then
     * H @ table + bias, summed in column order as scipy does). */
    const uint32_t mask = (uint32_t)(((uint64_t)1 << n_bits) - 1);
    /* Every unit's columns first (sorted, as in a canonical CSR row), then the sums: the
     * table rows of a unit a few ahead are fetched while one is summed, as the table is
     * too large for the caches. */
    Py_ssize_t longest_row = 0;  /* room after the rows, for sorting the longest */
    for (Py_ssize_t i = 0; i < n; i++)
        if (u[i].nwords + 5 > longest_row) longest_row = u[i].nwords + 5;
    cols_cap = n_words_total + 5 * n + longest_row + 1;
    cols = PyMem_Malloc(cols_cap * sizeof *cols);
    Py_ssize_t *row_at = PyMem_Malloc((n + 1) * sizeof *row_at);
    if (!cols || !row_at) { PyMem_Free(row_at); PyErr_NoMemory(); goto done; }
    row_at[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        UnitInfo *ui = &u[i];
        uint32_t *c = cols + row_at[i];
        const WordInfo *w = words + ui->word0;
        for (Py_ssize_t k = 0; k < ui->nwords; k++) c[k] = w[k].crc & mask;
        uint32_t caret, dollar, bigram;
        if (ui->nwords) {
            const WordInfo *first = &w[0], *last = &w[ui->nwords - 1];
            caret = first->crc ^ crc_shift(CRC_CARET, first->bmp_size);
            dollar = last->crc ^ crc_shift(CRC_DOLLAR, last->bmp_size);
            if (ui->nwords > 1) {
                const WordInfo *second = &w[1];
                uint32_t spaced = second->crc ^ crc_shift(CRC_SPACE, second->bmp_size);
                bigram = spaced ^ crc_shift(caret, second->bmp_size + 1);
            } else {
                bigram = CRC_NO_BIGRAM;
            }
        } else {
            caret = CRC_CARET;
            dollar = CRC_DOLLAR;
            bigram = CRC_NO_BIGRAM;
        }
        c[ui->nwords] = ui->head_crc & mask;
        c[ui->nwords + 1] = ui->tail_crc & mask;
        c[ui->nwords + 2] = caret & mask;
        c[ui->nwords + 3] = dollar & mask;
        c[ui->nwords + 4] = bigram & mask;
        sort_u32(c, ui->nwords + 5, n_bits, cols + cols_cap - (ui->nwords + 5));
        row_at[i + 1] = row_at[i] + ui->nwords + 5;
    }
    const Py_ssize_t ahead = 2;
    for (Py_ssize_t i = 0; i < ahead && i < n; i++)
        for (Py_ssize_t a = row_at[i]; a < row_at[i + 1]; a++)
            __builtin_prefetch(table + (size_t)cols[a] * K);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + ahead < n)
            for (Py_ssize_t a = row_at[i + ahead]; a < row_at[i + ahead + 1]; a++)
                __builtin_prefetch(table + (size_t)cols[a] * K);
        const uint32_t *c = cols + row_at[i];
        Py_ssize_t m = row_at[i + 1] - row_at[i];
        float inv = 1.0f / sqrtf((float)(u[i].nwords + 5));
        float z[2 * N_LABELS] = {0};
        for (Py_ssize_t a = 0; a < m;) {
            Py_ssize_t b = a + 1;
            while (b < m && c[b] == c[a]) b++;
            float v = inv * (float)(b - a);
            const float *row = table + (size_t)c[a] * K;
            if (K == 2 * N_LABELS) /* a constant count: the compiler vectorizes the loop */
                for (int k = 0; k < 2 * N_LABELS; k++) z[k] += v * row[k];
            else
                for (int k = 0; k < N_LABELS; k++) z[k] += v * row[k];
            a = b;
        }
        for (int k = 0; k < N_LABELS; k++) Z[i * N_LABELS + k] = z[k] + bias_v[k];
        if (LZ)
            for (int k = 0; k < N_LABELS; k++)
                LZ[i * N_LABELS + k] = z[N_LABELS + k] + bias_v[N_LABELS + k];
    }
    PyMem_Free(row_at);

    /* Units on which SECTION_MARKER must be tried: short ones holding a marker piece. */
    result = PyList_New(0);
    if (!result) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!u[i].nwords || u[i].nwords > MARKER_MAX_WORDS) continue;
        int hit = long_s;
        const Py_UCS4 *key = keys.data + u[i].key_off;
        Py_ssize_t key_len = u[i].key_len;
        for (Py_ssize_t a = 0; a + 1 < key_len && !hit; a++) {
            Py_UCS4 c = key[a];
            uint32_t bit = PAIR_BIT(c, key[a + 1]);
            if (!(piece_pairs[bit >> 6] >> (bit & 63) & 1)) continue;
            for (int p = 0; p < n_pieces && !hit; p++)
                hit = pieces[p][0] == c && a + piece_len[p] <= key_len
                      && memcmp(key + a, pieces[p], piece_len[p] * sizeof(Py_UCS4)) == 0;
        }
        if (hit) {
            PyObject *index = PyLong_FromSsize_t(i);
            if (!index || PyList_Append(result, index) < 0) {
                Py_XDECREF(index); Py_CLEAR(result); goto done;
            }
            Py_DECREF(index);
        }
    }
done:
    if (rules.obj) PyBuffer_Release(&rules);
    if (link.obj) PyBuffer_Release(&link);
    if (pos.obj) PyBuffer_Release(&pos);
    if (tab.obj) PyBuffer_Release(&tab);
    if (bias.obj) PyBuffer_Release(&bias);
    if (dense.obj) PyBuffer_Release(&dense);
    if (zb.obj) PyBuffer_Release(&zb);
    if (lb.obj) PyBuffer_Release(&lb);
    if (wb.obj) PyBuffer_Release(&wb);
    PyMem_Free(u);
    PyMem_Free(words);
    PyMem_Free(keys.data);
    PyMem_Free(low.data);
    PyMem_Free(scratch);
    PyMem_Free(cols);
    PyMem_Free(cum);
    return result;
}

/* ----- stage 2's inputs ----------------------------------------------------------------- */

/* numpy's pairwise summation of float32 (what ndarray.sum gives for a 1-D array). */
static float pairwise_sum(const float *a, Py_ssize_t n)
{
    if (n < 8) {
        float res = 0.f;
        for (Py_ssize_t i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= 128) {
        float r[8];
        Py_ssize_t i;
        for (int k = 0; k < 8; k++) r[k] = a[k];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int k = 0; k < 8; k++) r[k] += a[i + k];
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    Py_ssize_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

/* network._softmax of each row of a (n, N_LABELS) array, in place. */
static void softmax_rows(float *p, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        float *r = p + i * N_LABELS;
        float m = r[0];
        for (int k = 1; k < N_LABELS; k++) if (r[k] > m) m = r[k];
        float s = 0;
        for (int k = 0; k < N_LABELS; k++) { r[k] = expf(r[k] - m); s += r[k]; }
        for (int k = 0; k < N_LABELS; k++) r[k] /= s;
    }
}

/* context._fill_context: the probabilities of each unit, of its neighbours at ``shifts``
 * (zero outside the document) and their mean over +-STAGE2_WINDOW; returns the columns
 * written. */
static int fill_context(float *out, Py_ssize_t stride, const float *p, Py_ssize_t n,
                        const int *shifts, int n_shifts, double *cum)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        float *o = out + i * stride;
        memcpy(o, p + i * N_LABELS, N_LABELS * sizeof(float));
        for (int s = 0; s < n_shifts; s++) {
            Py_ssize_t j = i + shifts[s];
            float *dst = o + (1 + s) * N_LABELS;
            if (j >= 0 && j < n) memcpy(dst, p + j * N_LABELS, N_LABELS * sizeof(float));
            else memset(dst, 0, N_LABELS * sizeof(float));
        }
    }
    for (int k = 0; k < N_LABELS; k++) cum[k] = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        for (int k = 0; k < N_LABELS; k++)
            cum[(i + 1) * N_LABELS + k] = cum[i * N_LABELS + k] + (double)p[i * N_LABELS + k];
    int at = (1 + n_shifts) * N_LABELS;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t lo = i - STAGE2_WINDOW > 0 ? i - STAGE2_WINDOW : 0;
        Py_ssize_t hi = i + STAGE2_WINDOW + 1 < n ? i + STAGE2_WINDOW + 1 : n;
        for (int k = 0; k < N_LABELS; k++)
            out[i * stride + at + k] = (float)((cum[hi * N_LABELS + k] - cum[lo * N_LABELS + k])
                                               / (double)(hi - lo));
    }
    return at + N_LABELS;
}

/* context.decayed_mean_before of the probabilities (before: rows in order; after: rows in
 * reverse), written to columns [0, 7) and [7, 14) of out. */
static void decayed_means(float *out, Py_ssize_t stride, const float *p, Py_ssize_t n,
                          double *sums)
{
    const int W = 2 * N_LABELS;
    if (n < 2) {
        for (Py_ssize_t i = 0; i < n; i++) memset(out + i * stride, 0, W * sizeof(float));
        return;
    }
    double carry[2 * N_LABELS] = {0};
    for (Py_ssize_t start = 0; start < n; start += DECAY_CHUNK) {
        Py_ssize_t m = n - start < DECAY_CHUNK ? n - start : DECAY_CHUNK;
        double acc[2 * N_LABELS] = {0};
        for (int c = 0; c < W; c++) sums[start * W + c] = 0;
        for (Py_ssize_t j = 0; j + 1 < m; j++) {
            Py_ssize_t row = start + j;
            for (int c = 0; c < W; c++) {
                double v = c < N_LABELS ? p[row * N_LABELS + c]
                                        : p[(n - 1 - row) * N_LABELS + c - N_LABELS];
                acc[c] += v * decay_down[j];
                sums[(row + 1) * W + c] = acc[c];
            }
        }
        for (Py_ssize_t j = 1; j < m; j++)
            for (int c = 0; c < W; c++) sums[(start + j) * W + c] *= decay_up[j - 1];
        for (Py_ssize_t j = 0; j < m; j++)
            for (int c = 0; c < W; c++) sums[(start + j) * W + c] += decay_up[j] * carry[c];
        Py_ssize_t last = start + m - 1;
        for (int c = 0; c < W; c++) {
            double v = c < N_LABELS ? p[last * N_LABELS + c]
                                    : p[(n - 1 - last) * N_LABELS + c - N_LABELS];
            carry[c] = sums[last * W + c] * decay + v;
        }
    }
    /* Row i is divided by the sum of its weights, (1 - decay**i) / (1 - decay). */
    const double one_minus = 1.0 - decay;
    for (Py_ssize_t i = 1; i < n; i++) {
        double norm = (1.0 - pow(decay, (double)i)) / one_minus;
        for (int c = 0; c < W; c++) sums[i * W + c] /= norm;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t r = n - 1 - i; /* after: the reversed half, read back in order */
        for (int c = 0; c < N_LABELS; c++) {
            out[i * stride + c] = (float)sums[i * W + c];
            out[i * stride + N_LABELS + c] = (float)sums[r * W + N_LABELS + c];
        }
    }
}

/*
 * stage2(dense, proba, linear, softmax, mean, scale, out)
 *
 * model.LineClassifier._stage2_matrix of one document: dense (n, N_DENSE) float32; proba
 * (n, 7) float32 probabilities, or stage-1 logits if softmax (replaced in place by their
 * softmax, as is linear); linear (n, 7) or None; mean and scale (N_DENSE,) float32; out
 * (n, N_DENSE + STAGE2_WIDTH [+ LINEAR_WIDTH]) float32.
 */
static PyObject *stage2(PyObject *self, PyObject *args)
{
    PyObject *dense_obj, *proba_obj, *linear_obj, *mean_obj, *scale_obj, *out_obj;
    int softmax;
    if (!PyArg_ParseTuple(args, "OOOpOOO", &dense_obj, &proba_obj, &linear_obj, &softmax,
                          &mean_obj, &scale_obj, &out_obj))
        return NULL;
    Py_buffer dense = {0}, proba = {0}, linear = {0}, mean = {0}, scale = {0}, out = {0};
    PyObject *result = NULL;
    double *work = NULL;
    float *mass = NULL;
    if (PyObject_GetBuffer(dense_obj, &dense, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    Py_ssize_t n = dense.len / (4 * N_DENSE);
    int has_linear = linear_obj != Py_None;
    Py_ssize_t width = N_DENSE + STAGE2_WIDTH + (has_linear ? LINEAR_WIDTH : 0);
    if (dense.len != n * 4 * N_DENSE) {
        PyErr_SetString(PyExc_ValueError, "dense: not (n, N_DENSE) float32");
        goto done;
    }
    if (get_buffer(proba_obj, &proba, 4, n * N_LABELS, softmax, "proba") < 0) goto done;
    if (has_linear && get_buffer(linear_obj, &linear, 4, n * N_LABELS, softmax, "linear") < 0)
        goto done;
    if (get_buffer(mean_obj, &mean, 4, N_DENSE, 0, "mean") < 0) goto done;
    if (get_buffer(scale_obj, &scale, 4, N_DENSE, 0, "scale") < 0) goto done;
    if (get_buffer(out_obj, &out, 4, n * width, 1, "out") < 0) goto done;
    float *P = proba.buf, *Lp = has_linear ? linear.buf : NULL, *O = out.buf;
    const float *Dn = dense.buf, *mu = mean.buf, *sd = scale.buf;
    if (softmax) {
        softmax_rows(P, n);
        if (Lp) softmax_rows(Lp, n);
    }
    work = PyMem_Malloc(((n + 1) * 2 * N_LABELS + 1) * sizeof *work);
    mass = PyMem_Malloc((2 * n + 1) * sizeof *mass);
    if (!work || !mass) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t i = 0; i < n; i++)
        for (int c = 0; c < N_DENSE; c++)
            O[i * width + c] = (Dn[i * N_DENSE + c] - mu[c]) / sd[c];
    float *S = O + N_DENSE;
    int at = fill_context(S, width, P, n, STAGE2_NEIGHBOURS, 6, work);
    decayed_means(S + at, width, P, n, work);
    at += 2 * N_LABELS;
    /* Where the unit lies against the text stage 1 believes is body. */
    for (Py_ssize_t i = 0; i < n; i++) {
        float words = expm1f(Dn[i * N_DENSE + C_LOG_WORDS]);
        mass[i] = P[i * N_LABELS] * (words > 0 ? words : 0);
    }
    double total_d = (double)pairwise_sum(mass, n);
    float total = (float)(total_d > 1e-6 ? total_d : 1e-6);
    float running = 0;
    int strong_before = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        running += mass[i];
        float before = (running - mass[i]) / total;
        S[i * width + at] = before;
        S[i * width + at + 1] = 1.0f - before - mass[i] / total;
        S[i * width + at + 2] = strong_before;
        strong_before |= P[i * N_LABELS] > 0.5f;
    }
    int strong_after = 0;
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        S[i * width + at + 3] = strong_after;
        strong_after |= P[i * N_LABELS] > 0.5f;
    }
    at += 4;
    /* Comment and review sections: a marker seen, how long ago, how many near. */
    Py_ssize_t markers = 0;
    for (Py_ssize_t i = 0; i < n; i++) markers += Dn[i * N_DENSE + C_SECTION_MARKER] > 0;
    Py_ssize_t seen = -1, so_far = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        float *o = S + i * width + at;
        o[0] = seen >= 0;
        o[1] = seen >= 0 ? (float)(log1p((double)(i - seen)) / 5) : 0.f;
        Py_ssize_t near = 0;
        Py_ssize_t lo = i - MARKER_WINDOW > 0 ? i - MARKER_WINDOW : 0;
        Py_ssize_t hi = i + MARKER_WINDOW + 1 < n ? i + MARKER_WINDOW + 1 : n;
        for (Py_ssize_t j = lo; j < hi; j++) near += Dn[j * N_DENSE + C_SECTION_MARKER] > 0;
        o[2] = (float)((double)(near < 3 ? near : 3) / 3);
        int marker = Dn[i * N_DENSE + C_SECTION_MARKER] > 0;
        so_far += marker;
        o[3] = (float)((double)so_far / (double)(markers > 1 ? markers : 1));
        if (marker) seen = i;
    }
    at += 4;
    if (Lp) fill_context(S + at, width, Lp, n, LINEAR_NEIGHBOURS, 4, work);
    result = Py_None;
    Py_INCREF(result);
done:
    if (dense.obj) PyBuffer_Release(&dense);
    if (proba.obj) PyBuffer_Release(&proba);
    if (linear.obj) PyBuffer_Release(&linear);
    if (mean.obj) PyBuffer_Release(&mean);
    if (scale.obj) PyBuffer_Release(&scale);
    if (out.obj) PyBuffer_Release(&out);
    PyMem_Free(work);
    PyMem_Free(mass);
    return result;
}

/* ----- segmentation: one unit per non-blank line ------------------------------------- */

static inline int is_blank_char(Py_UCS4 c)
{
    return Py_UNICODE_ISSPACE(c) || c == 0x200B || c == 0x200C || c == 0x200D || c == 0x2060
           || c == 0xFEFF;
}

/* The index of the first ``ch`` in data[a:n], or n: one loop per string kind (memchr for
 * one byte), as PyUnicode_READ inside the loop costs a branch on the kind per character,
 * and every character of every page is scanned. Whole blocks of SCAN_BLOCK code units are
 * tested first, without an exit inside (the compiler vectorises those). */
#define SCAN_BLOCK 32
#define FIND_IN(T)                                                                       \
    do {                                                                                 \
        const T *d = (const T *)data;                                                    \
        for (; i + SCAN_BLOCK <= n; i += SCAN_BLOCK) {                                   \
            int any = 0;                                                                 \
            for (int k = 0; k < SCAN_BLOCK; k++) any |= d[i + k] == ch;                  \
            if (any) break;                                                              \
        }                                                                                \
        for (; i < n; i++) if (d[i] == ch) return i;                                     \
        return n;                                                                        \
    } while (0)

static Py_ssize_t find_char(int kind, const void *data, Py_ssize_t a, Py_ssize_t n, Py_UCS4 ch)
{
    if (a >= n) return n;
    if (kind == PyUnicode_1BYTE_KIND) {
        if (ch > 0xFF) return n;
        const Py_UCS1 *d = (const Py_UCS1 *)data;
        const Py_UCS1 *hit = memchr(d + a, (int)ch, (size_t)(n - a));
        return hit ? hit - d : n;
    }
    Py_ssize_t i = a;
    if (kind == PyUnicode_2BYTE_KIND) {
        if (ch > 0xFFFF) return n;
        FIND_IN(Py_UCS2);
    }
    FIND_IN(Py_UCS4);
}

/* A new instance of the tuple subclass ``type`` (segment.Unit) holding ``items``. */
static PyObject *new_unit(PyTypeObject *type, PyObject **items, Py_ssize_t n)
{
    PyObject *unit = type->tp_alloc(type, n);
    if (!unit) {
        for (Py_ssize_t i = 0; i < n; i++) Py_DECREF(items[i]);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) PyTuple_SET_ITEM(unit, i, items[i]);
    return unit;
}

/*
 * line_units(text, Unit, long_width) -> (lines, units, longest, long_lines)
 *
 * segment._physical_lines and segment._one_per_line in one pass: every physical line (LF,
 * or CR in a text without LF; the CR of a CRLF is not part of the line), one
 * Unit(line, start, end, i, i, paragraph) per line that is not blank (whitespace and
 * zero-width characters only), the length of the longest line, and the lines longer than
 * long_width (what segment.wrap_width looks at first; picking them out in Python cost
 * more than the rest of wrap_width on most pages).
 */
static PyObject *line_units(PyObject *self, PyObject *args)
{
    PyObject *text;
    PyTypeObject *unit_type;
    Py_ssize_t long_width;
    if (!PyArg_ParseTuple(args, "UO!n", &text, &PyType_Type, &unit_type, &long_width))
        return NULL;
    if (!PyType_IsSubtype(unit_type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "Unit must be a tuple type");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int has_lf = find_char(kind, data, 0, n, '\n') < n;
    int has_cr = find_char(kind, data, 0, n, '\r') < n;
    Py_UCS4 sep = has_lf || !has_cr ? '\n' : '\r';
    int strip_cr = has_lf && has_cr;
    PyObject *lines = PyList_New(0), *units = PyList_New(0), *long_lines = PyList_New(0);
    if (!lines || !units || !long_lines) goto fail;
    Py_ssize_t longest = 0, line_no = 0, paragraph = 0;
    int prev_blank = 1;
    for (Py_ssize_t a = 0; a < n;) {
        Py_ssize_t b = find_char(kind, data, a, n, sep);
        int blank = 1;
        for (Py_ssize_t k = a; k < b && blank; k++)
            blank = is_blank_char(PyUnicode_READ(kind, data, k));
        Py_ssize_t next = b + 1; /* past the separator (or the end) */
        Py_ssize_t end = b;
        if (strip_cr && end > a && PyUnicode_READ(kind, data, end - 1) == '\r') end--;
        PyObject *line = PyUnicode_Substring(text, a, end);
        if (!line) goto fail;
        if (PyList_Append(lines, line) < 0) { Py_DECREF(line); goto fail; }
        if (end - a > longest) longest = end - a;
        if (end - a > long_width && PyList_Append(long_lines, line) < 0) {
            Py_DECREF(line);
            goto fail;
        }
        if (blank) {
            if (!prev_blank) paragraph++;
        } else {
            PyObject *items[6];
            items[0] = line;
            Py_INCREF(line);
            items[1] = PyLong_FromSsize_t(a);
            items[2] = PyLong_FromSsize_t(end);
            items[3] = PyLong_FromSsize_t(line_no);
            items[5] = PyLong_FromSsize_t(paragraph);
            if (!items[1] || !items[2] || !items[3] || !items[5]) {
                for (int k = 0; k < 6; k++) if (k != 4) Py_XDECREF(items[k]);
                Py_DECREF(line);
                goto fail;
            }
            items[4] = items[3];
            Py_INCREF(items[4]);
            PyObject *unit = new_unit(unit_type, items, 6);
            if (!unit || PyList_Append(units, unit) < 0) {
                Py_XDECREF(unit); Py_DECREF(line); goto fail;
            }
            Py_DECREF(unit);
        }
        Py_DECREF(line);
        prev_blank = blank;
        line_no++;
        a = next;
    }
    /* A last line after the final separator exists only if the text does not end there:
     * the loop above never starts a line at n, as str.split followed by pop does. */
    return Py_BuildValue("(NNnN)", lines, units, longest, long_lines);
fail:
    Py_XDECREF(lines);
    Py_XDECREF(units);
    Py_XDECREF(long_lines);
    return NULL;
}

/* The next Markdown link target at or after ``from``: sets *inner to just after its "]("
 * and returns the index of its ")", or -1 when there is none (markdown.LINK_TARGET). */
static Py_ssize_t next_target(int kind, const void *d, Py_ssize_t from, Py_ssize_t n,
                              Py_ssize_t *inner)
{
    for (Py_ssize_t i = from; i + 1 < n; i++) {
        if (PyUnicode_READ(kind, d, i) != ']' || PyUnicode_READ(kind, d, i + 1) != '(')
            continue;
        Py_ssize_t close = find_char(kind, d, i + 2, n, ')');
        if (close == n) return -1; /* no ")" after this one, nor after any later one */
        *inner = i + 2;
        return close;
    }
    return -1;
}

/*
 * link_target_spans(text) -> list of (start, end)
 *
 * markdown.link_target_spans: where each link target lies, brackets excluded.
 */
static PyObject *link_target_spans(PyObject *self, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "text must be str");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *d = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), inner = 0;
    PyObject *spans = PyList_New(0);
    for (Py_ssize_t close = 0; spans && (close = next_target(kind, d, close, n, &inner)) >= 0;
         close++) {
        PyObject *span = Py_BuildValue("(nn)", inner, close);
        if (!span || PyList_Append(spans, span) < 0) Py_CLEAR(spans);
        Py_XDECREF(span);
    }
    return spans;
}

/*
 * markdown_links(texts, link_frac) -> None
 *
 * For each text holding "](": markdown.mask_link_targets of it (replacing it in the list)
 * and markdown.link_share of the masked text (into the float32 array link_frac). Both
 * regular expressions are scanned as `re` finds their matches: a target is "](" up to the
 * first ")" after it (none: no target from there on); a link is "[", no "]" until the
 * first "]", which must be followed by "(", then up to the first ")", with one "!" before
 * the "[" counted in; matches do not overlap and the search goes on after each.
 */
static PyObject *markdown_links(PyObject *self, PyObject *args)
{
    PyObject *texts;
    Py_buffer frac;
    if (!PyArg_ParseTuple(args, "O!w*", &PyList_Type, &texts, &frac)) return NULL;
    PyObject *result = NULL, *open_target = NULL;
    Py_ssize_t count = PyList_GET_SIZE(texts);
    if (frac.len != count * (Py_ssize_t)sizeof(float) || frac.itemsize != sizeof(float)) {
        PyErr_SetString(PyExc_ValueError, "link_frac must be float32, one per text");
        goto done;
    }
    float *out = frac.buf;
    open_target = PyUnicode_FromString("](");
    if (!open_target) goto done;
    for (Py_ssize_t t = 0; t < PyList_GET_SIZE(texts) && t < count; t++) {
        PyObject *text = PyList_GET_ITEM(texts, t);
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "texts must be str");
            goto done;
        }
        int kind = PyUnicode_KIND(text);
        const void *d = PyUnicode_DATA(text);
        Py_ssize_t n = PyUnicode_GET_LENGTH(text);
        /* The targets: blank what lies between "](" and the next ")". */
        Py_ssize_t opens = PyUnicode_Find(text, open_target, 0, n, 1);
        if (opens == -2) goto done;
        if (opens < 0) continue;
        void *m = NULL;
        Py_ssize_t inner = 0;
        for (Py_ssize_t close = 0; (close = next_target(kind, d, close, n, &inner)) >= 0;
             close++) {
            if (!m) {
                m = PyMem_Malloc((size_t)n * (size_t)kind);
                if (!m) { PyErr_NoMemory(); goto done; }
                memcpy(m, d, (size_t)n * (size_t)kind);
            }
            for (Py_ssize_t k = inner; k < close; k++) PyUnicode_WRITE(kind, m, k, ' ');
        }
        if (m) {
            /* A new string of the narrowest kind that holds it (a blanked target may have
             * held the widest character), as every str must be. */
            PyObject *masked = PyUnicode_FromKindAndData(kind, m, n);
            PyMem_Free(m);
            if (!masked) goto done;
            PyList_SetItem(texts, t, masked); /* steals masked, drops the old text */
            text = masked;
            kind = PyUnicode_KIND(text);
            d = PyUnicode_DATA(text);
        }
        /* The links' share of the stripped (masked) text. */
        Py_ssize_t a = 0, b = n;
        while (a < b && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, a))) a++;
        while (b > a && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, b - 1))) b--;
        Py_ssize_t linked = 0;
        for (Py_ssize_t i = a; i < b;) {
            Py_ssize_t start = i;
            if (PyUnicode_READ(kind, d, i) == '!' && i + 1 < b
                && PyUnicode_READ(kind, d, i + 1) == '[')
                start = i + 1;
            if (PyUnicode_READ(kind, d, start) == '[') {
                Py_ssize_t rb = find_char(kind, d, start + 1, b, ']');
                if (rb + 1 < b && PyUnicode_READ(kind, d, rb + 1) == '(') {
                    Py_ssize_t close = find_char(kind, d, rb + 2, b, ')');
                    if (close < b) {
                        linked += close + 1 - i;
                        i = close + 1;
                        continue;
                    }
                }
            }
            i++;
        }
        out[t] = b > a ? (float)((double)linked / (double)(b - a)) : 0.0f;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    Py_XDECREF(open_target);
    PyBuffer_Release(&frac);
    return result;
}

/*
 * join_kept(units, labels, mask, nl) -> str | None
 *
 * segment.join_units of the units whose label index has its bit set in mask: the kept
 * units' texts in order, nl between units of one paragraph, nl twice between paragraphs,
 * nl at the end, "" when none is kept. None when two kept units are pieces of one
 * physical line: what stood between them is for segment.join_units to judge (a regex).
 */
static PyObject *join_kept(PyObject *self, PyObject *args)
{
    PyObject *units, *labels, *nl;
    unsigned long long mask;
    if (!PyArg_ParseTuple(args, "O!O!KU", &PyList_Type, &units, &PyList_Type, &labels, &mask,
                          &nl))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(units);
    if (PyList_GET_SIZE(labels) != n) {
        PyErr_SetString(PyExc_ValueError, "units and labels differ in length");
        return NULL;
    }
    PyObject *parts = PyList_New(0), *two = NULL, *out = NULL;
    if (!parts) return NULL;
    Py_ssize_t prev_last = 0, prev_paragraph = 0;
    int any = 0;
    /* The lists are not changed while this runs (no Python code is called), but their
     * sizes are read each time all the same. */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(units) && i < PyList_GET_SIZE(labels); i++) {
        long label = PyLong_AsLong(PyList_GET_ITEM(labels, i));
        if (label == -1 && PyErr_Occurred()) goto done;
        if (label < 0 || label >= 64 || !((mask >> label) & 1)) continue;
        PyObject *unit = PyList_GET_ITEM(units, i);
        if (!PyTuple_Check(unit) || PyTuple_GET_SIZE(unit) < 6
            || !PyUnicode_Check(PyTuple_GET_ITEM(unit, 0))) {
            PyErr_SetString(PyExc_TypeError, "units must be segment.Unit tuples");
            goto done;
        }
        Py_ssize_t line = PyLong_AsSsize_t(PyTuple_GET_ITEM(unit, 3));
        Py_ssize_t last = PyLong_AsSsize_t(PyTuple_GET_ITEM(unit, 4));
        Py_ssize_t paragraph = PyLong_AsSsize_t(PyTuple_GET_ITEM(unit, 5));
        if ((line == -1 || last == -1 || paragraph == -1) && PyErr_Occurred()) goto done;
        if (any) {
            if (line == prev_last) { /* pieces of one long line */
                Py_INCREF(Py_None);
                out = Py_None;
                goto done;
            }
            PyObject *sep = nl;
            if (paragraph != prev_paragraph) {
                if (!two && !(two = PyUnicode_Concat(nl, nl))) goto done;
                sep = two;
            }
            if (PyList_Append(parts, sep) < 0) goto done;
        }
        if (PyList_Append(parts, PyTuple_GET_ITEM(unit, 0)) < 0) goto done;
        any = 1;
        prev_last = last;
        prev_paragraph = paragraph;
    }
    if (any && PyList_Append(parts, nl) < 0) goto done;
    PyObject *empty = PyUnicode_New(0, 0);
    if (empty) {
        out = PyUnicode_Join(empty, parts);
        Py_DECREF(empty);
    }
done:
    Py_DECREF(parts);
    Py_XDECREF(two);
    return out;
}

/*
 * wrappable_lines(lines) -> bytes
 *
 * What segment._wrappable needs the regular expression for, per line: 0 if the line is
 * not wrappable whatever it starts with (blank, or one word once blank characters are
 * stripped), 1 if it is (two words, and its first character after ASCII whitespace cannot
 * start a Markdown block: not one of #*+->|!`~ or a digit, and ASCII), 2 if
 * segment._BLOCK_START must decide.
 */
static PyObject *wrappable_lines(PyObject *self, PyObject *arg)
{
    if (!PyList_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "lines must be a list");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(arg);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n);
    if (!out) return NULL;
    char *facts = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *line = PyList_GET_ITEM(arg, i);
        if (!PyUnicode_Check(line)) {
            Py_DECREF(out);
            PyErr_SetString(PyExc_TypeError, "lines must be strings");
            return NULL;
        }
        int kind = PyUnicode_KIND(line);
        const void *data = PyUnicode_DATA(line);
        Py_ssize_t L = PyUnicode_GET_LENGTH(line), a = 0, b = L;
        while (a < L && is_blank_char(PyUnicode_READ(kind, data, a))) a++;
        while (b > a && is_blank_char(PyUnicode_READ(kind, data, b - 1))) b--;
        int two_words = 0;
        for (Py_ssize_t k = a; k < b && !two_words; k++)
            two_words = Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, k));
        if (!two_words) { facts[i] = 0; continue; }
        Py_ssize_t k = 0;
        Py_UCS4 c = 0;
        while (k < L && ((c = PyUnicode_READ(kind, data, k)) == ' ' || (c >= '\t' && c <= '\r')))
            k++;
        int maybe = c >= 0x80 || (c >= '0' && c <= '9') || strchr("#*+->|!`~", (int)c) != NULL;
        facts[i] = maybe ? 2 : 1;
    }
    return out;
}

/*
 * repeat_pairs(units) -> list of i
 *
 * The adjacent units i, i + 1 of one paragraph that repeats.match_repeats must look at:
 * stripped, the shorter has at least min_chars characters, the longer adds 1 to max_added,
 * and the longer starts or ends with the shorter.
 */
static PyObject *repeat_pairs(PyObject *self, PyObject *args)
{
    PyObject *units;
    Py_ssize_t min_chars, max_added;
    if (!PyArg_ParseTuple(args, "O!nn", &PyList_Type, &units, &min_chars, &max_added))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(units);
    PyObject *found = PyList_New(0);
    if (!found) return NULL;
    Py_ssize_t prev_f = 0, prev_len = -1, prev_par = 0;
    PyObject *prev_text = NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *u = PyList_GET_ITEM(units, i);
        if (!PyTuple_Check(u) || PyTuple_GET_SIZE(u) < 6 || !PyUnicode_Check(PyTuple_GET_ITEM(u, 0))) {
            Py_DECREF(found);
            PyErr_SetString(PyExc_TypeError, "units must be Unit tuples");
            return NULL;
        }
        PyObject *t = PyTuple_GET_ITEM(u, 0);
        Py_ssize_t par = PyLong_AsSsize_t(PyTuple_GET_ITEM(u, 5));
        if (par == -1 && PyErr_Occurred()) { Py_DECREF(found); return NULL; }
        int kind = PyUnicode_KIND(t);
        const void *data = PyUnicode_DATA(t);
        Py_ssize_t L = PyUnicode_GET_LENGTH(t), f = 0, l = L;
        while (f < L && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, f))) f++;
        while (l > f && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, l - 1))) l--;
        Py_ssize_t len = l - f;
        if (prev_text && par == prev_par) {
            Py_ssize_t shorter = len < prev_len ? len : prev_len;
            Py_ssize_t added = len > prev_len ? len - prev_len : prev_len - len;
            if (added > 0 && shorter >= min_chars && added <= max_added) {
                PyObject *st = len < prev_len ? t : prev_text, *lt = len < prev_len ? prev_text : t;
                Py_ssize_t sf = len < prev_len ? f : prev_f, lf = len < prev_len ? prev_f : f;
                Py_ssize_t sl = shorter, ll = shorter + added;
                int sk = PyUnicode_KIND(st), lk = PyUnicode_KIND(lt);
                const void *sd = PyUnicode_DATA(st), *ld = PyUnicode_DATA(lt);
                int starts = 1, ends = 1;
                for (Py_ssize_t k = 0; k < sl && (starts || ends); k++) {
                    Py_UCS4 c = PyUnicode_READ(sk, sd, sf + k);
                    starts = starts && PyUnicode_READ(lk, ld, lf + k) == c;
                    ends = ends && PyUnicode_READ(lk, ld, lf + ll - sl + k) == c;
                }
                if (starts || ends) {
                    PyObject *index = PyLong_FromSsize_t(i - 1);
                    if (!index || PyList_Append(found, index) < 0) {
                        Py_XDECREF(index); Py_DECREF(found); return NULL;
                    }
                    Py_DECREF(index);
                }
            }
        }
        prev_text = t;
        prev_f = f;
        prev_len = len;
        prev_par = par;
    }
    return found;
}

/* ----- deciding ------------------------------------------------------------------------- */

enum { BODY = 0, TITLE = 1 };

/* numpy's argmax of a row (the first largest) with the labels in the mask ``skip`` left
 * out (rows hold no NaN: decide() checks). */
static int argmax_row(const float *p, unsigned skip)
{
    int best = -1;
    for (int k = 0; k < N_LABELS; k++)
        if (!(skip >> k & 1) && (best < 0 || p[k] > p[best])) best = k;
    return best;
}

/* decode._most_probable of one row with the labels in ``skip`` left out: body exactly
 * where P(body) reaches the bar, else the most probable other label. */
static int most_probable(const float *p, double bar, unsigned skip)
{
    if ((double)p[BODY] >= bar) return BODY;
    int best = argmax_row(p, skip);
    return best == BODY ? argmax_row(p, skip | 1u << BODY) : best;
}

/* Sort unit indices by descending probability, equal ones in index order (numpy's stable
 * argsort of the negated probabilities), by insertion into runs merged bottom-up. */
static const double *sort_keys;
static int by_probability(const void *a, const void *b)
{
    Py_ssize_t i = *(const Py_ssize_t *)a, j = *(const Py_ssize_t *)b;
    if (sort_keys[i] != sort_keys[j]) return sort_keys[i] > sort_keys[j] ? -1 : 1;
    return (i > j) - (i < j);
}

static void sort_by_probability(Py_ssize_t *order, Py_ssize_t n, const double *p)
{
    sort_keys = p; /* (the GIL is held: no other thread sorts meanwhile) */
    qsort(order, n, sizeof *order, by_probability);
}

/*
 * decide(proba, rules, repeats, repeat_rules, rule_labels, words, calibration, constants)
 *     -> list or None
 *
 * decode.decide of one document: proba (n, 7) float32; rules: a list of the label index of
 * the line rule of each unit, or -1; repeats: a list of the repeat rule of each unit, or
 * None; repeat_rules: the tuple of known repeat rules, and rule_labels (its length, 7)
 * int8: each one's labels in its order, -1 after them; words int64; calibration (3,
 * knots + 1) float64: decode.BODY_CALIBRATION; constants: (run probability, bar inside,
 * bar before, bar after, title minimum, precision weight, fewest words a unit the bars left
 * out needs to be added). None if a probability
 * is NaN (numpy and Python's max() disagree about those: decode.decide handles them) or a
 * repeat rule is not one of repeat_rules.
 */
static PyObject *decide(PyObject *self, PyObject *args)
{
    PyObject *proba_obj, *rules_obj, *repeats_obj, *known, *allowed_obj, *words_obj, *cal_obj;
    double run_p, bar_in, bar_before, bar_after, title_min, precision_weight;
    Py_ssize_t min_added_words;
    if (!PyArg_ParseTuple(args, "OO!O!O!OOO(ddddddn)", &proba_obj, &PyList_Type, &rules_obj,
                          &PyList_Type, &repeats_obj, &PyTuple_Type, &known, &allowed_obj,
                          &words_obj, &cal_obj, &run_p, &bar_in, &bar_before, &bar_after,
                          &title_min, &precision_weight, &min_added_words))
        return NULL;
    Py_buffer pb = {0}, ab = {0}, wb = {0}, cb = {0};
    double *p_cal = NULL;
    Py_ssize_t *order = NULL;
    PyObject *result = NULL;
    int *labels = NULL;
    double *bars = NULL;
    uint8_t *free_unit = NULL;
    int8_t *rule = NULL, *repeat = NULL;
    if (PyObject_GetBuffer(proba_obj, &pb, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    Py_ssize_t n = pb.len / (4 * N_LABELS);
    Py_ssize_t n_repeat_rules = PyTuple_GET_SIZE(known);
    if (pb.len != n * 4 * N_LABELS || PyList_GET_SIZE(rules_obj) != n
        || PyList_GET_SIZE(repeats_obj) != n || n_repeat_rules > 127) {
        PyErr_SetString(PyExc_ValueError, "proba (n, 7) float32, rules and repeats n each");
        goto done;
    }
    if (get_buffer(allowed_obj, &ab, 1, n_repeat_rules * N_LABELS, 0, "rule_labels") < 0)
        goto done;
    if (get_buffer(words_obj, &wb, 8, n, 0, "words") < 0) goto done;
    if (PyObject_GetBuffer(cal_obj, &cb, PyBUF_C_CONTIGUOUS) < 0) goto done;
    const Py_ssize_t knots = cb.len / (3 * 8) - 1; /* 3 regions, knots + 1 values each */
    if (knots < 1 || cb.len != 3 * 8 * (knots + 1)) {
        PyErr_SetString(PyExc_ValueError, "calibration: not (3, knots + 1) float64");
        goto done;
    }
    const double *calibration = cb.buf;
    rule = PyMem_Malloc(2 * (n + 1));
    if (!rule) { PyErr_NoMemory(); goto done; }
    repeat = rule + n + 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        long r = PyLong_AsLong(PyList_GET_ITEM(rules_obj, i));
        if (r == -1 && PyErr_Occurred()) goto done;
        rule[i] = (int8_t)(r >= 0 && r < N_LABELS ? r : -1);
        PyObject *q = PyList_GET_ITEM(repeats_obj, i);
        repeat[i] = -1;
        if (q == Py_None) continue;
        for (Py_ssize_t k = 0; k < n_repeat_rules; k++)
            if (PyTuple_GET_ITEM(known, k) == q) repeat[i] = (int8_t)k;
        if (repeat[i] < 0) { result = Py_None; Py_INCREF(result); goto done; }
    }
    const float *P = pb.buf;
    const int8_t *allowed = ab.buf;
    const int64_t *words = wb.buf;
    for (Py_ssize_t i = 0; i < n * N_LABELS; i++)
        if (isnan(P[i])) { result = Py_None; Py_INCREF(result); goto done; }
    labels = PyMem_Malloc((n + 1) * sizeof *labels);
    bars = PyMem_Malloc((n + 1) * sizeof *bars);
    free_unit = PyMem_Malloc(n + 1);
    if (!labels || !bars || !free_unit) { PyErr_NoMemory(); goto done; }
    /* The article run: the stretch with the largest sum of (words + 1) x (P(body) - run_p). */
    Py_ssize_t start = 0, stop = n;
    if (n) {
        const float run_f = (float)run_p;
        double reach = 0, lowest = 0, best = -INFINITY;
        Py_ssize_t best_stop = 1;
        /* reach[i] after unit i; the run ending at i starts after the lowest reach before. */
        for (Py_ssize_t i = 0; i < n; i++) {
            double gain = ((double)words[i] + 1) * (double)(P[i * N_LABELS + BODY] - run_f);
            double prev = reach;
            if (i > 0 && prev < lowest) lowest = prev; /* minimum of reach[0..i] */
            reach += gain;
            if (reach - lowest > best) { best = reach - lowest; best_stop = i + 1; }
        }
        stop = best_stop;
        /* start: the first index of the lowest reach[0..stop-1] (reach[0] = 0). */
        reach = 0;
        double low = 0;
        start = 0;
        for (Py_ssize_t i = 0; i + 1 < stop; i++) {
            reach += ((double)words[i] + 1) * (double)(P[i * N_LABELS + BODY] - run_f);
            if (reach < low) { low = reach; start = i + 1; }
        }
    }
    for (Py_ssize_t i = 0; i < n; i++)
        bars[i] = i < start ? bar_before : (i < stop ? bar_in : bar_after);
    int *likeliest = PyMem_Malloc((n + 1) * sizeof *likeliest);
    if (!likeliest) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t i = 0; i < n; i++) {
        likeliest[i] = most_probable(P + i * N_LABELS, bars[i], 0);
        labels[i] = likeliest[i];
        free_unit[i] = rule[i] < 0;
    }
    int any_repeat = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (repeat[i] < 0) continue;
        if (repeat[i] >= n_repeat_rules || allowed[repeat[i] * N_LABELS] < 0) {
            PyMem_Free(likeliest);
            PyErr_SetString(PyExc_ValueError, "repeat rule index out of range");
            goto done;
        }
        any_repeat = 1;
        if (rule[i] >= 0) continue;
        const float *p = P + i * N_LABELS;
        const int8_t *options = allowed + repeat[i] * N_LABELS;
        int best = options[0];
        for (int k = 1; k < N_LABELS && options[k] >= 0; k++)
            if (p[options[k]] > p[best]) best = options[k];
        labels[i] = best;
        free_unit[i] = 0;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (rule[i] >= 0) labels[i] = rule[i];
    if (any_repeat) { /* runs of one repeat rule with body on both sides: its first label */
        for (Py_ssize_t i = 0; i < n;) {
            if (repeat[i] < 0) { i++; continue; }
            Py_ssize_t j = i;
            while (j < n && repeat[j] == repeat[i]) j++;
            if (i > 0 && j < n && labels[i - 1] == BODY && labels[j] == BODY)
                for (Py_ssize_t k = i; k < j; k++) labels[k] = allowed[repeat[i] * N_LABELS];
            i = j;
        }
    }
    /* One headline: of the free units the model called title, the likeliest keeps it. */
    Py_ssize_t keep = -1, n_titles = 0, any_free = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!free_unit[i]) continue;
        any_free = 1;
        if (likeliest[i] != TITLE) continue;
        n_titles++;
        if (keep < 0 || P[i * N_LABELS + TITLE] > P[keep * N_LABELS + TITLE]) keep = i;
    }
    if (n_titles > 1)
        for (Py_ssize_t i = 0; i < n; i++)
            if (free_unit[i] && likeliest[i] == TITLE && i != keep)
                labels[i] = most_probable(P + i * N_LABELS, bars[i], 1u << TITLE);
    PyMem_Free(likeliest);
    int has_title = 0;
    for (Py_ssize_t i = 0; i < n && !has_title; i++) has_title = labels[i] == TITLE;
    if (any_free && !has_title) {
        Py_ssize_t best = -1;
        for (Py_ssize_t i = 0; i < n; i++)
            if (free_unit[i] && (best < 0 || P[i * N_LABELS + TITLE] > P[best * N_LABELS + TITLE]))
                best = i;
        int body_before = 0;
        for (Py_ssize_t i = 0; i < best && !body_before; i++) body_before = labels[i] == BODY;
        /* float32 against the constant, as numpy compares a float32 with a Python float */
        if (P[best * N_LABELS + TITLE] >= (float)title_min && !body_before) labels[best] = TITLE;
    }
    /* decode._choose_body: calibrated P(body), then the number of the likeliest free units
     * that maximises precision_weight x expected precision + expected recall (units the
     * bars left out need min_added_words words to be among them). */
    if (n) {
        p_cal = PyMem_Malloc(2 * n * sizeof *p_cal);
        order = PyMem_Malloc(n * sizeof *order);
        if (!p_cal || !order) { PyErr_NoMemory(); goto done; }
        double *mass = p_cal + n;
        double kept = 0, kept_weight = 0, total = 0;
        Py_ssize_t n_candidates = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            int region = i < start ? 0 : (i < stop ? 1 : 2);
            double t = (double)P[i * N_LABELS + BODY] * (double)knots;
            Py_ssize_t knot = (Py_ssize_t)t;
            if (knot > knots - 1) knot = knots - 1;
            double low = calibration[region * (knots + 1) + knot];
            double high = calibration[region * (knots + 1) + knot + 1];
            p_cal[i] = low + (high - low) * (t - (double)knot);
            double weight = (double)words[i] + 1;
            mass[i] = p_cal[i] * weight;
            total += mass[i];
            int candidate = free_unit[i] && labels[i] != TITLE
                            && (labels[i] == BODY || weight > (double)min_added_words);
            if (candidate) order[n_candidates++] = i;
            else if (labels[i] == BODY) { kept += mass[i]; kept_weight += weight; }
        }
        if (!(total > 0)) total = 1e-9;
        sort_by_probability(order, n_candidates, p_cal);
        double best = -INFINITY;
        Py_ssize_t take = 0;
        for (Py_ssize_t k = 0; k <= n_candidates; k++) {
            if (k) {
                kept += mass[order[k - 1]];
                kept_weight += (double)words[order[k - 1]] + 1;
            }
            double value = kept_weight > 0
                ? precision_weight * (kept / kept_weight) + kept / total : -1.0;
            if (value > best) { best = value; take = k; }
        }
        for (Py_ssize_t k = 0; k < n_candidates; k++) {
            Py_ssize_t i = order[k];
            if (k < take) labels[i] = BODY;
            else if (labels[i] == BODY)
                labels[i] = argmax_row(P + i * N_LABELS, 1u << BODY | 1u << TITLE);
        }
    }
    result = PyList_New(n);
    if (!result) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyLong_FromLong(labels[i]);
        if (!v) { Py_CLEAR(result); goto done; }
        PyList_SET_ITEM(result, i, v);
    }
done:
    if (pb.obj) PyBuffer_Release(&pb);
    if (ab.obj) PyBuffer_Release(&ab);
    if (wb.obj) PyBuffer_Release(&wb);
    if (cb.obj) PyBuffer_Release(&cb);
    PyMem_Free(p_cal);
    PyMem_Free(order);
    PyMem_Free(rule);
    PyMem_Free(labels);
    PyMem_Free(bars);
    PyMem_Free(free_unit);
    return result;
}

/* A C-contiguous float32 buffer of count values (count < 0: any multiple of -count), or -1
 * with a ValueError naming it. */
static int get_floats(PyObject *obj, Py_buffer *view, Py_ssize_t count, int writable,
                      const char *what)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) return -1;
    Py_ssize_t n = view->len / 4;
    if (strcmp(view->format, "f") || (count >= 0 ? n != count : n % -count)) {
        if (count >= 0)
            PyErr_Format(PyExc_ValueError, "%s: not %zd float32 values", what, count);
        else if (count < -1)
            PyErr_Format(PyExc_ValueError, "%s: not rows of %zd float32 values", what, -count);
        else
            PyErr_Format(PyExc_ValueError, "%s: not float32 values", what);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* softmax(z[, b]): network._softmax of a (n, 7) float32 array, in place, with b (7,) added
 * to each row first if given (as ``z += b`` does: one float32 addition an element). */
static PyObject *softmax(PyObject *self, PyObject *args)
{
    PyObject *z_obj, *b_obj = Py_None;
    if (!PyArg_ParseTuple(args, "O|O", &z_obj, &b_obj)) return NULL;
    Py_buffer z, b;
    if (get_floats(z_obj, &z, -N_LABELS, 1, "z") < 0) return NULL;
    const Py_ssize_t n = z.len / (4 * N_LABELS);
    if (b_obj != Py_None) {
        if (get_floats(b_obj, &b, N_LABELS, 0, "b") < 0) {
            PyBuffer_Release(&z);
            return NULL;
        }
        float *p = z.buf;
        const float *bias = b.buf;
        for (Py_ssize_t i = 0; i < n; i++)
            for (int k = 0; k < N_LABELS; k++) p[i * N_LABELS + k] += bias[k];
        PyBuffer_Release(&b);
    }
    softmax_rows(z.buf, n);
    PyBuffer_Release(&z);
    Py_RETURN_NONE;
}

/* bias_relu(h, b): ``h += b; np.maximum(h, 0, out=h)`` of a (n, m) float32 array and b (m,)
 * float32 in one pass (NaN stays NaN and -0.0 stays -0.0, as np.maximum leaves them): two
 * numpy calls over the hidden layer cost stage 2 a tenth of its product. */
static PyObject *bias_relu(PyObject *self, PyObject *args)
{
    PyObject *h_obj, *b_obj;
    if (!PyArg_ParseTuple(args, "OO", &h_obj, &b_obj)) return NULL;
    Py_buffer h, b;
    if (get_floats(b_obj, &b, -1, 0, "b") < 0) return NULL;
    const Py_ssize_t m = b.len / 4;
    if (get_floats(h_obj, &h, -1, 1, "h") < 0) {
        PyBuffer_Release(&b);
        return NULL;
    }
    if (h.ndim != 2 || h.shape[1] != m) {
        PyBuffer_Release(&b);
        PyBuffer_Release(&h);
        PyErr_SetString(PyExc_ValueError, "h: not rows of as many float32 values as b");
        return NULL;
    }
    float *p = h.buf;
    const float *bias = b.buf;
    for (Py_ssize_t i = 0; i < h.shape[0]; i++, p += m)
        for (Py_ssize_t j = 0; j < m; j++) {
            const float v = p[j] + bias[j];
            p[j] = v < 0.0f ? 0.0f : v;
        }
    PyBuffer_Release(&b);
    PyBuffer_Release(&h);
    Py_RETURN_NONE;
}

/* tanh by linear interpolation in a table of TANH_STEPS points per unit over
 * [-TANH_RANGE, TANH_RANGE] (error under 2e-6; beyond the range tanh is 1 to within 3e-8).
 * libm's tanhf cost a GRU 190 calls per unit, more than all its products. */
#define TANH_RANGE 9
#define TANH_STEPS 256
#define TANH_SIZE (2 * TANH_RANGE * TANH_STEPS + 2)
static float tanh_table[TANH_SIZE];

static void tanh_init(void)
{
    for (int i = 0; i < TANH_SIZE; i++)
        tanh_table[i] = (float)tanh((double)i / TANH_STEPS - TANH_RANGE);
}

static inline float fast_tanh(float x)
{
    const float u = (x + (float)TANH_RANGE) * (float)TANH_STEPS;
    if (!(u > 0.0f)) return u <= 0.0f ? -1.0f : x; /* NaN stays NaN */
    if (u >= (float)(2 * TANH_RANGE * TANH_STEPS)) return 1.0f;
    const int i = (int)u;
    const float f = u - (float)i;
    return tanh_table[i] + f * (tanh_table[i + 1] - tanh_table[i]);
}

/* gru(a, w_h, b_h, out, reverse): sequence.gru_forward for one document (a batch of
 * one): the states of a GRU over its input projections a (n, 3G) float32, x @ w_x + b_x,
 * with recurrent weights w_h (G, 3G) and b_h (3G), into out (n, G); from the last unit
 * to the first if reverse. Gates in the order reset, update, new (PyTorch's). */
static PyObject *gru(PyObject *self, PyObject *args)
{
    PyObject *a_obj, *w_obj, *b_obj, *out_obj;
    int reverse;
    Py_buffer ab = {0}, wb = {0}, bb = {0}, ob = {0};
    PyObject *result = NULL;
    float *h = NULL;
    if (!PyArg_ParseTuple(args, "OOOOp", &a_obj, &w_obj, &b_obj, &out_obj, &reverse))
        return NULL;
    if (PyObject_GetBuffer(b_obj, &bb, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    const Py_ssize_t g = bb.len / (3 * 4);
    if (g < 1 || bb.len != 3 * 4 * g) {
        PyErr_SetString(PyExc_ValueError, "b_h: not (3G,) float32");
        goto done;
    }
    if (PyObject_GetBuffer(out_obj, &ob, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) goto done;
    const Py_ssize_t n = ob.len / (4 * g);
    if (ob.len != 4 * g * n) {
        PyErr_SetString(PyExc_ValueError, "out: not (n, G) float32");
        goto done;
    }
    if (get_buffer(a_obj, &ab, 4, n * 3 * g, 0, "a") < 0) goto done;
    if (get_buffer(w_obj, &wb, 4, g * 3 * g, 0, "w_h") < 0) goto done;
    h = PyMem_Malloc(4 * g * sizeof *h);
    if (!h) { PyErr_NoMemory(); goto done; }
    float *rec = h + g;
    const float *A = ab.buf, *W = wb.buf, *B = bb.buf;
    float *out = ob.buf;
    for (Py_ssize_t j = 0; j < g; j++) h[j] = 0.0f;
    for (Py_ssize_t step = 0; step < n; step++) {
        const Py_ssize_t t = reverse ? n - 1 - step : step;
        for (Py_ssize_t k = 0; k < 3 * g; k++) rec[k] = B[k];
        for (Py_ssize_t j = 0; j < g; j++) {
            const float hj = h[j];
            const float *row = W + j * 3 * g;
            for (Py_ssize_t k = 0; k < 3 * g; k++) rec[k] += hj * row[k];
        }
        const float *a = A + t * 3 * g;
        float *o = out + t * g;
        for (Py_ssize_t j = 0; j < g; j++) {
            const float r = 0.5f * (fast_tanh(0.5f * (a[j] + rec[j])) + 1.0f);
            const float z = 0.5f * (fast_tanh(0.5f * (a[g + j] + rec[g + j])) + 1.0f);
            const float nn = fast_tanh(a[2 * g + j] + r * rec[2 * g + j]);
            o[j] = nn + z * (h[j] - nn);
        }
        for (Py_ssize_t j = 0; j < g; j++) h[j] = o[j];
    }
    result = Py_None;
    Py_INCREF(result);
done:
    if (ab.obj) PyBuffer_Release(&ab);
    if (wb.obj) PyBuffer_Release(&wb);
    if (bb.obj) PyBuffer_Release(&bb);
    if (ob.obj) PyBuffer_Release(&ob);
    PyMem_Free(h);
    return result;
}

/*
 * match_rules(texts, memo, dispatch, new_key, lead, key_chars, max_chars, cache_max) -> list
 *
 * rules.match_rule of every text in a list: the rule (or None) for each, with rules.py's
 * own memo and dispatch dictionaries, new_key (rules._new_key) called for a key not in the
 * dispatch, lead (rules._LEAD_CHARS) the characters skipped before the key, and the rules'
 * own compiled fullmatch deciding. Only the loop is here: on a
 * page, the Python of one call per line (strip, lookups, the candidate loop) cost more
 * than the lookups themselves. rules.match_rules is the Python side, and tests compare
 * the two.
 */
static PyObject *match_rules(PyObject *self, PyObject *args)
{
    PyObject *texts, *memo, *dispatch, *new_key, *lead;
    Py_ssize_t key_chars, max_chars, cache_max;
    if (!PyArg_ParseTuple(args, "O!O!O!OUnnn", &PyList_Type, &texts, &PyDict_Type, &memo,
                          &PyDict_Type, &dispatch, &new_key, &lead, &key_chars, &max_chars,
                          &cache_max))
        return NULL;
    /* A copy to loop over: new_key and the patterns run Python code, which could change
     * the list (another thread, say) while this loop holds its items. */
    PyObject *items = PyList_AsTuple(texts);
    if (!items) return NULL;
    const Py_ssize_t n = PyTuple_GET_SIZE(items);
    PyObject *out = PyList_New(n);
    if (!out) { Py_DECREF(items); return NULL; }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *text = PyTuple_GET_ITEM(items, i);
        if (!PyUnicode_Check(text)) {
            PyErr_Format(PyExc_TypeError, "texts must be str, not %.100s",
                         Py_TYPE(text)->tp_name);
            goto fail;
        }
        const int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        const Py_ssize_t len = PyUnicode_GET_LENGTH(text);
        Py_ssize_t a = 0, b = len; /* str.strip() */
        while (a < b && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, a))) a++;
        while (b > a && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, b - 1))) b--;
        const Py_ssize_t m = b - a;
        if (m == 0 || m > max_chars) {
            Py_INCREF(Py_None);
            PyList_SET_ITEM(out, i, Py_None);
            continue;
        }
        PyObject *stripped;
        if (a == 0 && b == len && PyUnicode_CheckExact(text)) {
            stripped = text;
            Py_INCREF(text);
        } else if (!(stripped = PyUnicode_Substring(text, a, b))) {
            goto fail;
        }
        PyObject *known = PyDict_GetItemWithError(memo, stripped);
        if (known) {
            Py_INCREF(known);
            PyList_SET_ITEM(out, i, known);
            Py_DECREF(stripped);
            continue;
        }
        if (PyErr_Occurred()) { Py_DECREF(stripped); goto fail; }
        Py_ssize_t k = a; /* stripped.lstrip(lead)[:key_chars] */
        while (k < b && PyUnicode_FindChar(lead, PyUnicode_READ(kind, data, k), 0,
                                           PyUnicode_GET_LENGTH(lead), 1) >= 0)
            k++;
        PyObject *key = PyUnicode_Substring(text, k, k + key_chars < b ? k + key_chars : b);
        if (!key) { Py_DECREF(stripped); goto fail; }
        PyObject *candidates = PyDict_GetItemWithError(dispatch, key);
        if (candidates) Py_INCREF(candidates);
        else if (!PyErr_Occurred()) candidates = PyObject_CallOneArg(new_key, key);
        Py_DECREF(key);
        if (candidates && !PyTuple_Check(candidates)) {
            PyErr_SetString(PyExc_TypeError, "rule candidates must be a tuple");
            Py_CLEAR(candidates);
        }
        if (!candidates) { Py_DECREF(stripped); goto fail; }
        PyObject *found = Py_None;
        for (Py_ssize_t c = 0; c < PyTuple_GET_SIZE(candidates); c++) {
            PyObject *candidate = PyTuple_GET_ITEM(candidates, c);
            if (!PyTuple_Check(candidate) || PyTuple_GET_SIZE(candidate) < 3) {
                PyErr_SetString(PyExc_TypeError, "a rule candidate must be a tuple");
                break;
            }
            PyObject *needs = PyTuple_GET_ITEM(candidate, 2);
            if (PyUnicode_Check(needs) && PyUnicode_GET_LENGTH(needs)) {
                int held = PyUnicode_Contains(stripped, needs);
                if (held < 0) break;
                if (!held) continue;
            }
            PyObject *match = PyObject_CallOneArg(PyTuple_GET_ITEM(candidate, 1), stripped);
            if (!match) break;
            int hit = match != Py_None;
            Py_DECREF(match);
            if (hit) { found = PyTuple_GET_ITEM(candidate, 0); break; }
        }
        Py_INCREF(found);
        Py_DECREF(candidates);
        if (PyErr_Occurred()) { Py_DECREF(found); Py_DECREF(stripped); goto fail; }
        if (PyDict_GET_SIZE(memo) >= cache_max) PyDict_Clear(memo);
        if (PyDict_SetItem(memo, stripped, found) < 0) {
            Py_DECREF(found); Py_DECREF(stripped); goto fail;
        }
        Py_DECREF(stripped);
        PyList_SET_ITEM(out, i, found);
    }
    Py_DECREF(items);
    return out;
fail:
    /* Items not set yet are NULL, which list deallocation skips. */
    Py_DECREF(out);
    Py_DECREF(items);
    return NULL;
}

static PyObject *own_names(PyObject *self, PyObject *unused)
{
    PyObject *names = PyTuple_New(N_OWN);
    if (!names) return NULL;
    for (int i = 0; i < N_OWN; i++) {
        PyObject *s = PyUnicode_FromString(OWN_NAMES[i]);
        if (!s) { Py_DECREF(names); return NULL; }
        PyTuple_SET_ITEM(names, i, s);
    }
    return names;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "Set the character tables (once)."},
    {"features", features, METH_VARARGS, "Dense features and stage-1 logits of a document."},
    {"stage2", stage2, METH_VARARGS, "Stage-2 inputs of a document."},
    {"line_units", line_units, METH_VARARGS, "Lines and one unit per non-blank line."},
    {"join_kept", join_kept, METH_VARARGS, "The kept units joined (segment.join_kept)."},
    {"markdown_links", markdown_links, METH_VARARGS, "Link targets masked and link shares."},
    {"link_target_spans", link_target_spans, METH_O, "markdown.link_target_spans."},
    {"repeat_pairs", repeat_pairs, METH_VARARGS, "Adjacent units that may repeat."},
    {"wrappable_lines", wrappable_lines, METH_O, "Which lines are wrappable, or may be."},
    {"decide", decide, METH_VARARGS, "Labels of a document's units (decode.decide)."},
    {"softmax", softmax, METH_VARARGS,
     "Softmax of each row of a (n, 7) float32 array, in place, a bias (7,) added first if given."},
    {"bias_relu", bias_relu, METH_VARARGS,
     "h += b, then h = max(h, 0), in place, for a (n, m) float32 array and b (m,)."},
    {"gru", gru, METH_VARARGS, "States of a GRU over one document (sequence.gru_forward)."},
    {"match_rules", match_rules, METH_VARARGS, "rules.match_rule of every text in a list."},
    {"own_names", own_names, METH_NOARGS, "The own dense columns this build computes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastcore",
    "The per-document hot path of prediction in C (see cleaner/fastcore.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastcore(void)
{
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    tanh_init();
    if (PyModule_AddIntConstant(m, "N_DENSE", N_DENSE) < 0
        || PyModule_AddIntConstant(m, "STAGE2_WIDTH", STAGE2_WIDTH) < 0
        || PyModule_AddIntConstant(m, "LINEAR_WIDTH", LINEAR_WIDTH) < 0
        || PyModule_AddIntConstant(m, "DECAY_CHUNK", DECAY_CHUNK) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
