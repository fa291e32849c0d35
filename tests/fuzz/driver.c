/* driver.c: a standalone mutation driver for libFuzzer-style targets (no libFuzzer).
 *
 *   fuzz_TARGET [-n RUNS] [-seed S] [-max_len N] [-timeout SEC] [-crash FILE] CORPUS...
 *
 * Runs every seed once, then RUNS deterministic mutations of them (bit flips, byte
 * sets, inserts, deletes, chunk copies, splices of two seeds, "interesting" values),
 * all from a xorshift generator seeded by S: the same command replays the same inputs.
 * Before each input the driver remembers it; when a sanitizer or a signal ends the
 * process, or one input runs longer than SEC seconds (default 20: a hang is a finding
 * too), the input is written to FILE (default fuzz-crash.bin) for replay:
 *   fuzz_TARGET -n 0 fuzz-crash.bin
 * Built only when the target is not linked with -fsanitize=fuzzer. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

/* the input being run, for the crash dump (a signal handler cannot take arguments) */
static const uint8_t *cur_data;
static size_t cur_size;
static const char *crash_path = "fuzz-crash.bin";

static void dump_current(void)
{
    int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        if (cur_data && cur_size)
            (void)!write(fd, cur_data, cur_size);
        close(fd);
    }
    static const char msg[] = "fuzz driver: the failing input was written to the crash file\n";
    (void)!write(2, msg, sizeof msg - 1);
}

static void on_timeout(int sig)
{
    (void)sig;
    static const char msg[] = "fuzz driver: one input ran past the -timeout (a hang)\n";
    (void)!write(2, msg, sizeof msg - 1);
    dump_current();
    _exit(70);
}

static void on_signal(int sig)
{
    dump_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

typedef struct {
    uint8_t *data;
    size_t size;
} blob;

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}
static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

static int load_file(const char *path, blob **seeds, size_t *n, size_t *cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    blob b = {malloc(len > 0 ? (size_t)len : 1), len > 0 ? (size_t)len : 0};
    if (!b.data || fread(b.data, 1, b.size, f) != b.size) {
        fclose(f);
        free(b.data);
        return -1;
    }
    fclose(f);
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        *seeds = realloc(*seeds, *cap * sizeof **seeds);
    }
    (*seeds)[(*n)++] = b;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_path(const char *path, blob **seeds, size_t *n, size_t *cap)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "fuzz driver: cannot read %s\n", path);
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        load_file(path, seeds, n, cap);
        return;
    }
    /* sorted: the order, hence the mutations, must not depend on the file system */
    DIR *d = opendir(path);
    char **names = NULL;
    size_t nn = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (nn + 1) * sizeof *names);
        names[nn++] = strdup(e->d_name);
    }
    if (d)
        closedir(d);
    qsort(names, nn, sizeof *names, cmp_names);
    for (size_t i = 0; i < nn; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, names[i]);
        load_file(p, seeds, n, cap);
        free(names[i]);
    }
    free(names);
}

/* One to four mutations of buf (size *len, capacity max) in place. */
static void mutate(uint8_t *buf, size_t *len, size_t max, const blob *seeds, size_t nseeds)
{
    static const int64_t interesting[] = {0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
                                          0x7fffffff, (int64_t)0x80000000, 0xffffffff,
                                          1000000, 10980, 65535, 256, 512};
    int rounds = 1 + (int)below(4);
    for (int r = 0; r < rounds; r++) {
        size_t n = *len;
        switch (below(8)) {
        case 0: /* flip one bit */
            if (n)
                buf[below(n)] ^= (uint8_t)(1u << below(8));
            break;
        case 1: /* set one byte */
            if (n)
                buf[below(n)] = (uint8_t)rnd();
            break;
        case 2: { /* insert bytes */
            size_t k = 1 + below(8);
            if (n + k > max)
                break;
            size_t at = below(n + 1);
            memmove(buf + at + k, buf + at, n - at);
            for (size_t i = 0; i < k; i++)
                buf[at + i] = (uint8_t)rnd();
            *len = n + k;
            break;
        }
        case 3: { /* delete bytes */
            if (!n)
                break;
            size_t at = below(n), k = 1 + below(n - at < 16 ? n - at : 16);
            memmove(buf + at, buf + at + k, n - at - k);
            *len = n - k;
            break;
        }
        case 4: { /* copy a chunk within the input */
            if (n < 2)
                break;
            size_t from = below(n), to = below(n), k = 1 + below(32);
            if (from + k > n)
                k = n - from;
            if (to + k > n)
                k = n - to;
            memmove(buf + to, buf + from, k);
            break;
        }
        case 5: { /* splice: the tail from another seed */
            const blob *o = &seeds[below(nseeds)];
            if (!o->size)
                break;
            size_t at = below(n + 1), from = below(o->size), k = o->size - from;
            if (at + k > max)
                k = max - at;
            memcpy(buf + at, o->data + from, k);
            *len = at + k;
            break;
        }
        case 6: { /* an interesting little-endian value of 1, 2 or 4 bytes */
            size_t w = (size_t)1 << below(3);
            if (n < w)
                break;
            int64_t v = interesting[below(sizeof interesting / sizeof interesting[0])];
            size_t at = below(n - w + 1);
            for (size_t i = 0; i < w; i++)
                buf[at + i] = (uint8_t)((uint64_t)v >> (8 * i));
            break;
        }
        default: { /* an ASCII digit run (numbers in text formats) */
            if (!n)
                break;
            size_t at = below(n), k = 1 + below(6);
            for (size_t i = 0; i < k && at + i < n; i++)
                buf[at + i] = (uint8_t)('0' + below(10));
            break;
        }
        }
    }
}

int main(int argc, char **argv)
{
    long runs = 1000;
    uint64_t seed = 1;
    size_t max_len = 1 << 16;
    unsigned timeout = 20;
    blob *seeds = NULL;
    size_t nseeds = 0, cap = 0;
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            runs = atol(argv[++i]);
        else if (strcmp(argv[i], "-seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-max_len") == 0 && i + 1 < argc)
            max_len = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "-timeout") == 0 && i + 1 < argc)
            timeout = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "-crash") == 0 && i + 1 < argc)
            crash_path = argv[++i];
        else
            load_path(argv[i], &seeds, &nseeds, &cap);
    }
    if (nseeds == 0) {
        /* an empty input is still an input */
        seeds = calloc(1, sizeof *seeds);
        nseeds = 1;
    }
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(dump_current);
    signal(SIGSEGV, on_signal);
    signal(SIGABRT, on_signal);
    signal(SIGBUS, on_signal);
    signal(SIGFPE, on_signal);
    signal(SIGILL, on_signal);
    signal(SIGALRM, on_timeout);

    size_t maxseed = 0;
    for (size_t i = 0; i < nseeds; i++)
        if (seeds[i].size > maxseed)
            maxseed = seeds[i].size;
    if (max_len < maxseed)
        max_len = maxseed;
    uint8_t *buf = malloc(max_len + 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long done = 0;
    for (size_t i = 0; i < nseeds; i++, done++) {
        cur_data = seeds[i].data;
        cur_size = seeds[i].size;
        alarm(timeout);
        LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].size);
    }
    for (long r = 0; r < runs; r++, done++) {
        const blob *s = &seeds[below(nseeds)];
        size_t len = s->size;
        if (len)
            memcpy(buf, s->data, len);
        mutate(buf, &len, max_len, seeds, nseeds);
        cur_data = buf;
        cur_size = len;
        alarm(timeout);
        LLVMFuzzerTestOneInput(buf, len);
    }
    alarm(0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("%s: %ld executions (%zu seeds + %ld mutations, seed %llu) in %.1f s, no crash\n",
           argv[0], done, nseeds, runs, (unsigned long long)seed, secs);
    free(buf);
    for (size_t i = 0; i < nseeds; i++)
        free(seeds[i].data);
    free(seeds);
    return 0;
}
