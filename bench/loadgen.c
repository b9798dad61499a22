/*
 * loadgen: load generator for the jobgate benchmark (see README.md beside this file).
 *
 * Blocking clients, one request in flight per connection, one thread per connection.
 * Targets:
 *   jobgate     newline-delimited JSON over TCP or a Unix socket
 *   beanstalkd  its text protocol (put / reserve-with-timeout / delete)
 *   redis-lua   jobgate's own Lua scripts, each op's its own function library (<op>.lua), called
 *               with FCALL from hiredis sync connections: the same work in Redis, without the
 *               gateway hop
 * Scenarios: cycle, batch, latency, idle-conns. Each run prints one result line:
 *   target=... scenario=... key=value ...
 *
 * Build: gcc -O2 -pthread -o loadgen loadgen.c -lhiredis
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ options */

enum target { T_JOBGATE, T_BEANSTALKD, T_REDIS };
static const char *target_names[] = {"jobgate", "beanstalkd", "redis-lua"};

static struct {
    enum target target;
    const char *addr;
    const char *scenario;
    const char *scripts;   /* directory holding <op>.lua, each a function library */
    const char *queue;
    int producers, workers;
    double duration, warmup;
    int payload;
    int batch;
    double rate;
    int samples;
    double gap_ms;          /* wake-up: pause between arming a waiting lease and enqueueing */
    int conns;
    long pid;
    double lease_wait;      /* seconds a worker's lease waits on an empty queue (cycle/batch) */
    const char *label;      /* extra key=value text appended to the result line */
    const char *cpu;        /* NAME=PID,... : server processes whose CPU time each run reports */
} opt = {
    .target = T_JOBGATE, .addr = NULL, .scenario = NULL, .scripts = NULL, .queue = NULL,
    .producers = 8, .workers = 8, .duration = 5, .warmup = 0.5, .payload = 100, .batch = 200,
    .rate = 10000, .samples = 1000, .gap_ms = 2, .conns = 10000, .pid = 0, .lease_wait = 0.5,
    .label = NULL,
};

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loadgen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* First few protocol errors are shown; all are counted. */
static atomic_int errors_shown;
static void note_error(const char *what, const char *text, size_t len) {
    if (atomic_fetch_add(&errors_shown, 1) < 5)
        fprintf(stderr, "loadgen: %s error: %.*s\n", what, (int)(len > 300 ? 300 : len), text);
}

/* ------------------------------------------------------------------ time, rng, stats */

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t) {
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000ull), .tv_nsec = (long)(t % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}

static void sleep_ns(uint64_t ns) { sleep_until(now_ns() + ns); }

typedef struct { uint64_t s; } rng_t;
static inline uint64_t rng_next(rng_t *r) {
    uint64_t x = r->s;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return r->s = x;
}
static void rng_seed(rng_t *r, uint64_t seed) {
    r->s = seed * 0x9E3779B97F4A7C15ull + 0x1234567ull;
    if (!r->s) r->s = 1;
    for (int i = 0; i < 8; i++) rng_next(r);
}

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/* Random alphanumerics: no JSON escaping needed and no accidental protocol keywords. */
static void fill_payload(rng_t *r, char *out, int n) {
    for (int i = 0; i < n; i++) out[i] = alnum[rng_next(r) % 62];
}
static void hex_token(rng_t *r, char *out, int n) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < n; i++) out[i] = hex[rng_next(r) & 15];
    out[n] = 0;
}
/* A uuid4-shaped id, as jobgate generates when the client gives none. */
static void uuid4(rng_t *r, char *out) {
    hex_token(r, out, 36);
    out[8] = out[13] = out[18] = out[23] = '-';
    out[14] = '4';
    out[19] = "89ab"[rng_next(r) & 3];
}

typedef struct {
    uint64_t *v;
    size_t n, cap;
} samples_t;

static void samples_add(samples_t *s, uint64_t ns) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) die("out of memory");
    }
    s->v[s->n++] = ns;
}
static void samples_merge(samples_t *into, const samples_t *from) {
    for (size_t i = 0; i < from->n; i++) samples_add(into, from->v[i]);
}
static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}
static void samples_sort(samples_t *s) { qsort(s->v, s->n, sizeof *s->v, cmp_u64); }
/* Nearest-rank percentile, in microseconds; -1 when there are no samples. */
static double pct_us(const samples_t *sorted, double p) {
    if (sorted->n == 0) return -1;
    size_t k = (size_t)(p * (double)sorted->n + 0.999999);
    if (k < 1) k = 1;
    if (k > sorted->n) k = sorted->n;
    return (double)sorted->v[k - 1] / 1000.0;
}

/* ------------------------------------------------------------------ sockets */

/* `addr` without its `scheme` (if it has it) split at the last colon: the host into `host`,
 * and the port returned. */
static int host_port(const char *addr, const char *scheme, char host[256]) {
    const char *hp = strncmp(addr, scheme, strlen(scheme)) == 0 ? addr + strlen(scheme) : addr;
    const char *colon = strrchr(hp, ':');
    if (!colon || colon - hp >= 256) die("bad address %s (tcp://HOST:PORT or unix:PATH)", addr);
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = 0;
    return atoi(colon + 1);
}

static int dial(const char *addr) {
    int fd;
    if (strncmp(addr, "unix:", 5) == 0) {
        const char *path = addr + 5;
        while (path[0] == '/' && path[1] == '/') path++;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof sa.sun_path) die("unix socket path too long: %s", path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { close(fd); return -1; }
        return fd;
    }
    char host[256];
    int port = host_port(addr, "tcp://", host);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) die("bad IPv4 address %s", host);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { close(fd); return -1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int dial_or_die(const char *addr) {
    int fd = dial(addr);
    if (fd < 0) die("cannot connect to %s: %s", addr, strerror(errno));
    return fd;
}

/* A blocking connection with a read buffer. */
typedef struct {
    int fd;
    char *buf;
    size_t off, len, cap;
} conn_t;

static void conn_open(conn_t *c, const char *addr) {
    memset(c, 0, sizeof *c);
    c->fd = dial_or_die(addr);
    c->cap = 65536;
    c->buf = malloc(c->cap);
    if (!c->buf) die("out of memory");
}

static void conn_close(conn_t *c) {
    if (c->fd >= 0) close(c->fd);
    free(c->buf);
    c->fd = -1;
    c->buf = NULL;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int conn_fill(conn_t *c) {
    if (c->off > 0 && c->off == c->len) c->off = c->len = 0;
    if (c->len == c->cap) {
        if (c->off > 0) {
            memmove(c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        } else {
            c->cap *= 2;
            c->buf = realloc(c->buf, c->cap);
            if (!c->buf) die("out of memory");
        }
    }
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r > 0) { c->len += (size_t)r; return 0; }
        if (r < 0 && errno == EINTR) continue;
        return -1;
    }
}

/* Next line without its terminator ("\n" or "\r\n"); NUL-terminated in place. */
static char *conn_line(conn_t *c, size_t *len) {
    size_t scanned = c->off;
    for (;;) {
        char *nl = memchr(c->buf + scanned, '\n', c->len - scanned);
        if (nl) {
            char *line = c->buf + c->off;
            size_t n = (size_t)(nl - line);
            c->off += n + 1;
            if (n > 0 && line[n - 1] == '\r') n--;
            line[n] = 0;
            *len = n;
            return line;
        }
        size_t keep = c->len - c->off; /* scanned already, no newline in it */
        if (conn_fill(c) != 0) return NULL;
        scanned = c->off + keep; /* the buffer may have moved */
    }
}

/* Skips n bytes (a beanstalkd job body and its "\r\n"). */
static int conn_skip(conn_t *c, size_t n) {
    while (c->len - c->off < n) {
        n -= c->len - c->off;
        c->off = c->len;
        if (conn_fill(c) != 0) return -1;
    }
    c->off += n;
    return 0;
}

/* ------------------------------------------------------------------ text buffer */

typedef struct {
    char *p;
    size_t n, cap;
} sbuf_t;

static void sb_reserve(sbuf_t *b, size_t extra) {
    if (b->n + extra + 1 > b->cap) {
        while (b->n + extra + 1 > b->cap) b->cap = b->cap ? b->cap * 2 : 4096;
        b->p = realloc(b->p, b->cap);
        if (!b->p) die("out of memory");
    }
}
static void sb_add(sbuf_t *b, const char *s, size_t n) {
    sb_reserve(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void sb_str(sbuf_t *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_fmt(sbuf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    sb_reserve(b, (size_t)need);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

/* ------------------------------------------------------------------ jobgate client */

typedef struct {
    char id[64];
    char token[48];
    char beanstalk_id[24];
} job_ref;

static int starts_ok(const char *line) { return strncmp(line, "{\"ok\":true", 10) == 0; }

/* Finds each leased job's id and lease token in a lease reply (job ids come first in each job
 * object; the payload is alphanumeric, so these markers cannot occur inside it). */
static int parse_leased(const char *line, job_ref *out, int max) {
    int n = 0;
    const char *p = line;
    while (n < max && (p = strstr(p, "{\"id\":\"")) != NULL) {
        p += 7;
        const char *e = strchr(p, '"');
        if (!e || e - p >= (long)sizeof out[n].id) return -1;
        memcpy(out[n].id, p, (size_t)(e - p));
        out[n].id[e - p] = 0;
        const char *l = strstr(e, "\"lease\":\"");
        if (!l) return -1;
        l += 9;
        const char *le = strchr(l, '"');
        if (!le || le - l >= (long)sizeof out[n].token) return -1;
        memcpy(out[n].token, l, (size_t)(le - l));
        out[n].token[le - l] = 0;
        p = le;
        n++;
    }
    return n;
}

static size_t count_substr(const char *s, const char *needle) {
    size_t n = 0, k = strlen(needle);
    while ((s = strstr(s, needle)) != NULL) { n++; s += k; }
    return n;
}

static void jg_enqueue_request(sbuf_t *b, rng_t *r, const char *queue, int count) {
    b->n = 0;
    if (count == 1) {
        sb_fmt(b, "{\"op\":\"enqueue\",\"queue\":\"%s\",\"func\":\"bench.work\",\"args\":[\"", queue);
        sb_reserve(b, (size_t)opt.payload);
        fill_payload(r, b->p + b->n, opt.payload);
        b->n += (size_t)opt.payload;
        sb_str(b, "\"]}\n");
        return;
    }
    sb_fmt(b, "{\"op\":\"enqueue\",\"queue\":\"%s\",\"jobs\":[", queue);
    for (int i = 0; i < count; i++) {
        sb_str(b, i ? ",{\"func\":\"bench.work\",\"args\":[\"" : "{\"func\":\"bench.work\",\"args\":[\"");
        sb_reserve(b, (size_t)opt.payload);
        fill_payload(r, b->p + b->n, opt.payload);
        b->n += (size_t)opt.payload;
        sb_str(b, "\"]}");
    }
    sb_str(b, "]}\n");
}

/* Sends the request in `b` for `count` jobs and reads the reply: how many items of a batch
 * reply hold `state_field` (an error reply counts none), or -1 on a broken connection. */
static int jg_exchange(conn_t *c, sbuf_t *b, const char *op, int count, const char *state_field) {
    if (write_all(c->fd, b->p, b->n) != 0) return -1;
    size_t len;
    char *line = conn_line(c, &len);
    if (!line) return -1;
    if (!starts_ok(line)) { note_error(op, line, len); return 0; }
    if (count == 1) return 1;
    int ok = (int)count_substr(line, state_field);
    if (ok != count) {
        char what[64];
        snprintf(what, sizeof what, "%s (batch items)", op);
        note_error(what, line, len);
    }
    return ok;
}

/* Returns the number of jobs enqueued, or -1 on a broken connection. */
static int jg_enqueue(conn_t *c, sbuf_t *b, rng_t *r, const char *queue, int count) {
    jg_enqueue_request(b, r, queue, count);
    return jg_exchange(c, b, "enqueue", count, "\"state\":\"queued\"");
}

/* Sends a lease request (without reading the reply). */
static int jg_lease_send(conn_t *c, const char *queue, int count, double wait) {
    char req[512];
    int n;
    if (count == 1)
        n = snprintf(req, sizeof req, "{\"op\":\"lease\",\"queues\":[\"%s\"],\"wait\":%g}\n", queue, wait);
    else
        n = snprintf(req, sizeof req, "{\"op\":\"lease\",\"queues\":[\"%s\"],\"count\":%d,\"wait\":%g}\n", queue, count, wait);
    return write_all(c->fd, req, (size_t)n);
}

/* Reads a lease reply: number of jobs parsed into `out`, or -1 on a broken connection. */
static int jg_lease_recv(conn_t *c, job_ref *out, int max) {
    size_t len;
    char *line = conn_line(c, &len);
    if (!line) return -1;
    if (!starts_ok(line)) { note_error("lease", line, len); return 0; }
    int n = parse_leased(line, out, max);
    if (n < 0) { note_error("lease (unparsed reply)", line, len); return 0; }
    return n;
}

/* Acks n jobs (one request; a batch when n > 1). Returns jobs acked, or -1. */
static int jg_ack(conn_t *c, sbuf_t *b, const job_ref *jobs, int n) {
    b->n = 0;
    if (n == 1) {
        sb_fmt(b, "{\"op\":\"ack\",\"id\":\"%s\",\"lease\":\"%s\"}\n", jobs[0].id, jobs[0].token);
    } else {
        sb_str(b, "{\"op\":\"ack\",\"jobs\":[");
        for (int i = 0; i < n; i++)
            sb_fmt(b, "%s{\"id\":\"%s\",\"lease\":\"%s\"}", i ? "," : "", jobs[i].id, jobs[i].token);
        sb_str(b, "]}\n");
    }
    return jg_exchange(c, b, "ack", n, "\"state\":\"finished\"");
}

/* ------------------------------------------------------------------ beanstalkd client */

static int bs_command(conn_t *c, const char *cmd, const char *expect) {
    if (write_all(c->fd, cmd, strlen(cmd)) != 0) return -1;
    size_t len;
    char *line = conn_line(c, &len);
    if (!line) return -1;
    if (strncmp(line, expect, strlen(expect)) != 0) { note_error(cmd, line, len); return 0; }
    return 1;
}

static void bs_use(conn_t *c, const char *tube) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "use %s\r\n", tube);
    if (bs_command(c, cmd, "USING") != 1) die("beanstalkd: use %s failed", tube);
}

static void bs_watch(conn_t *c, const char *tube) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "watch %s\r\n", tube);
    if (bs_command(c, cmd, "WATCHING") != 1) die("beanstalkd: watch %s failed", tube);
    if (strcmp(tube, "default") != 0 && bs_command(c, "ignore default\r\n", "WATCHING") != 1)
        die("beanstalkd: ignore default failed");
}

static int bs_put(conn_t *c, sbuf_t *b, rng_t *r) {
    b->n = 0;
    /* priority 1024, no delay, ttr 180 s (jobgate's default lease) */
    sb_fmt(b, "put 1024 0 180 %d\r\n", opt.payload);
    sb_reserve(b, (size_t)opt.payload + 2);
    fill_payload(r, b->p + b->n, opt.payload);
    b->n += (size_t)opt.payload;
    sb_str(b, "\r\n");
    if (write_all(c->fd, b->p, b->n) != 0) return -1;
    size_t len;
    char *line = conn_line(c, &len);
    if (!line) return -1;
    if (strncmp(line, "INSERTED ", 9) != 0) { note_error("put", line, len); return 0; }
    return 1;
}

static int bs_reserve_send(conn_t *c, int timeout_s) {
    char cmd[64];
    int n = snprintf(cmd, sizeof cmd, "reserve-with-timeout %d\r\n", timeout_s);
    return write_all(c->fd, cmd, (size_t)n);
}

/* 1 with the job's id in `out`, 0 on TIMED_OUT or an error, -1 on a broken connection. */
static int bs_reserve_recv(conn_t *c, job_ref *out) {
    size_t len;
    char *line = conn_line(c, &len);
    if (!line) return -1;
    if (strncmp(line, "RESERVED ", 9) == 0) {
        unsigned long long id;
        size_t bytes;
        if (sscanf(line + 9, "%llu %zu", &id, &bytes) != 2) { note_error("reserve", line, len); return -1; }
        snprintf(out->beanstalk_id, sizeof out->beanstalk_id, "%llu", id);
        if (conn_skip(c, bytes + 2) != 0) return -1;
        return 1;
    }
    if (strncmp(line, "TIMED_OUT", 9) != 0 && strncmp(line, "DEADLINE_SOON", 13) != 0) note_error("reserve", line, len);
    return 0;
}

static int bs_delete(conn_t *c, const job_ref *j) {
    char cmd[64];
    snprintf(cmd, sizeof cmd, "delete %s\r\n", j->beanstalk_id);
    return bs_command(c, cmd, "DELETED");
}

/* ------------------------------------------------------------------ redis-lua client */

#define FUNCTION_NAME_MAX 64
static char fn_enqueue[FUNCTION_NAME_MAX], fn_lease[FUNCTION_NAME_MAX], fn_ack[FUNCTION_NAME_MAX];

static redisContext *redis_open(const char *addr) {
    redisContext *c;
    if (strncmp(addr, "unix:", 5) == 0) {
        const char *path = addr + 5;
        while (path[0] == '/' && path[1] == '/') path++;
        c = redisConnectUnix(path);
    } else {
        char host[256];
        int port = host_port(addr, strncmp(addr, "redis://", 8) == 0 ? "redis://" : "tcp://", host);
        c = redisConnect(host, port);
        if (c && !c->err) {
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
    }
    if (!c || c->err) die("cannot connect to Redis at %s: %s", addr, c ? c->errstr : "out of memory");
    return c;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot read %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) die("cannot read %s", path);
    fclose(f);
    p[n] = 0;
    *len = (size_t)n;
    return p;
}

/* enqueue.lua's arguments per job and the 1-based place of `fresh`, from the layout header the
 * gateway puts before it (`local A = {id = 1, ..., fresh = 16, ..., tail = 19}`). */
static int enqueue_slots = 16, enqueue_fresh = 16;

static void read_enqueue_layout(const char *script) {
    const char *tail = strstr(script, "tail = "), *fresh = strstr(script, "fresh = ");
    if (!tail || !fresh) die("enqueue.lua has no layout header (local A = {...})");
    enqueue_slots = atoi(tail + 7) - 1;
    enqueue_fresh = atoi(fresh + 8);
}

/* lease.lua: its named arguments by their places in the header (A.count, A.queue_count, the others
 * '' = not given: the job's own timeout, no worker), then the queue and `count` tokens. */
static int lease_count = 1, lease_queue_count = 4, lease_tail = 5;

static void read_lease_layout(const char *script) {
    const char *count = strstr(script, "{count = "), *queues = strstr(script, "queue_count = "),
               *tail = strstr(script, "tail = ");
    if (!count || !queues || !tail) die("lease.lua has no layout header (local A = {...})");
    lease_count = atoi(count + 9);
    lease_queue_count = atoi(queues + 14);
    lease_tail = atoi(tail + 7);
}

/* The scripts answer their rows flat (row i's field f at i * width + R.f): each script's width
 * and the 0-based places of the fields read here, from its header's `local R = {...}`. */
typedef struct { size_t width, state, id, lease; } row_layout;
static row_layout enqueue_rows, lease_rows, ack_rows;

static size_t row_place(const char *table, const char *end, const char *field) {
    char key[64];
    snprintf(key, sizeof key, " %s = ", field);
    const char *at = strstr(table, key);
    return at && at < end ? (size_t)atoi(at + strlen(key)) - 1 : (size_t)-1;
}

static row_layout read_row_layout(const char *op, const char *script) {
    const char *table = strstr(script, "local R = {");
    const char *end = table ? strchr(table, '}') : NULL;
    if (!end) die("%s.lua has no row layout (local R = {...})", op);
    row_layout l = {1, 0, 0, 0};
    for (const char *c = table; c < end; c++) l.width += *c == ',';
    /* a leading space for the first name, as for the others */
    char padded[1024];
    snprintf(padded, sizeof padded, " %.*s", (int)(end - table - 11), table + 11);
    const char *pend = padded + strlen(padded);
    l.state = row_place(padded, pend, "state");
    l.id = row_place(padded, pend, "id");
    l.lease = row_place(padded, pend, "lease");
    return l;
}

/* Loads <op>.lua from --scripts: a function library of its own (the prelude, the op's names and
 * body) that registers one function, whose name it keeps for FCALL. */
static void load_script(redisContext *c, const char *op, char *function_out) {
    if (!opt.scripts) die("--scripts DIR (<op>.lua for each op, see bench/README.md) is required for redis-lua");
    char path[4096];
    size_t len;
    snprintf(path, sizeof path, "%s/%s.lua", opt.scripts, op);
    char *src = read_file(path, &len);
    const char *argv[4] = {"FUNCTION", "LOAD", "REPLACE", src};
    size_t argl[4] = {8, 4, 7, len};
    redisReply *r = redisCommandArgv(c, 4, argv, argl);
    if (!r || r->type != REDIS_REPLY_STRING || r->len >= FUNCTION_NAME_MAX)
        die("FUNCTION LOAD %s failed: %s", op, r && r->str ? r->str : c->errstr);
    memcpy(function_out, r->str, r->len);
    function_out[r->len] = 0;
    freeReplyObject(r);
    if (strcmp(op, "enqueue") == 0) read_enqueue_layout(src);
    if (strcmp(op, "lease") == 0) read_lease_layout(src);
    row_layout rows = read_row_layout(op, src);
    if (strcmp(op, "enqueue") == 0) enqueue_rows = rows;
    else if (strcmp(op, "lease") == 0) lease_rows = rows;
    else ack_rows = rows;
    free(src);
}

/* zlib framing around a stored (uncompressed) deflate block: a valid zlib stream that jobgate
 * and RQ can inflate, made without a compression library. */
static size_t zlib_stored(const char *in, size_t n, char *out) {
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + (unsigned char)in[i]) % 65521;
        b = (b + a) % 65521;
    }
    size_t k = 0;
    out[k++] = 0x78;
    out[k++] = 0x01;
    out[k++] = 0x01; /* BFINAL, stored */
    out[k++] = (char)(n & 0xff);
    out[k++] = (char)(n >> 8);
    out[k++] = (char)(~n & 0xff);
    out[k++] = (char)((~n >> 8) & 0xff);
    memcpy(out + k, in, n);
    k += n;
    uint32_t ad = (b << 16) | a;
    out[k++] = (char)(ad >> 24);
    out[k++] = (char)(ad >> 16);
    out[k++] = (char)(ad >> 8);
    out[k++] = (char)ad;
    return k;
}

/* Per-thread argument storage for FCALL calls. */
typedef struct {
    const char **argv;
    size_t *argl;
    size_t argc, cap;
    char *arena;      /* ids, data, tokens */
    size_t used, arena_cap;
} rargs_t;

static void ra_reset(rargs_t *a) { a->argc = 0; a->used = 0; }
static void ra_init(rargs_t *a, size_t max_args, size_t arena) {
    memset(a, 0, sizeof *a);
    a->cap = max_args;
    a->argv = malloc(max_args * sizeof *a->argv);
    a->argl = malloc(max_args * sizeof *a->argl);
    a->arena_cap = arena;
    a->arena = malloc(arena);
    if (!a->argv || !a->argl || !a->arena) die("out of memory");
}
static void ra_add(rargs_t *a, const char *s, size_t n) {
    if (a->argc == a->cap) die("too many script arguments");
    a->argv[a->argc] = s;
    a->argl[a->argc++] = n;
}
static char *ra_alloc(rargs_t *a, size_t n) {
    if (a->used + n > a->arena_cap) die("argument arena too small");
    char *p = a->arena + a->used;
    a->used += n;
    return p;
}
static void ra_str(rargs_t *a, const char *s) { ra_add(a, s, strlen(s)); }

static void ra_prefix(rargs_t *a, const char *function) {
    ra_reset(a);
    ra_str(a, "FCALL");
    ra_str(a, function);
    ra_str(a, "0");
}

/* Appends one enqueue.lua job: id, queue, data, then "not given" for every other argument but
 * "fresh" (the id is a random uuid4, as jobgate's own are, so the script skips its duplicate
 * check). */
static void ra_enqueue_job(rargs_t *a, rng_t *r, const char *queue) {
    char *id = ra_alloc(a, 37);
    uuid4(r, id);
    ra_add(a, id, 36);
    ra_str(a, queue);
    /* RQ's JSON data form: ["func", null, args, kwargs] */
    char json[8192];
    int n = snprintf(json, sizeof json, "[\"bench.work\",null,[\"");
    fill_payload(r, json + n, opt.payload);
    n += opt.payload;
    n += snprintf(json + n, sizeof json - (size_t)n, "\"],{}]");
    char *data = ra_alloc(a, (size_t)n + 16);
    size_t dl = zlib_stored(json, (size_t)n, data);
    ra_add(a, data, dl);
    for (int place = 4; place <= enqueue_slots; place++) {
        if (place == enqueue_fresh) ra_add(a, "1", 1); else ra_add(a, "", 0);
    }
}

/* Runs the FCALL in `a` for `count` jobs, whose script answers a row per job with R.state:
 * how many rows hold `state`, or -1 on a broken connection. */
static int rl_call(redisContext *c, rargs_t *a, const char *script, const row_layout *rows, int count,
                   const char *state) {
    redisReply *rep = redisCommandArgv(c, (int)a->argc, a->argv, a->argl);
    if (!rep) return -1;
    int ok = 0;
    redisReply *odd = rep; /* the reply, or the first R.state not `state`, to show */
    if (rep->type == REDIS_REPLY_ARRAY) {
        for (size_t at = 0; at + rows->width <= rep->elements; at += rows->width) {
            redisReply *field = rep->element[at + rows->state];
            if (field->type == REDIS_REPLY_STRING && strcmp(field->str, state) == 0)
                ok++;
            else if (odd == rep)
                odd = field;
        }
    }
    if (ok != count) note_error(script, odd->str ? odd->str : "unexpected reply", odd->str ? (size_t)odd->len : 16);
    freeReplyObject(rep);
    return ok;
}

static int rl_enqueue(redisContext *c, rargs_t *a, rng_t *r, const char *queue, int count) {
    ra_prefix(a, fn_enqueue);
    for (int i = 0; i < count; i++) ra_enqueue_job(a, r, queue);
    return rl_call(c, a, "enqueue.lua", &enqueue_rows, count, "queued");
}

/* lease.lua: count, queue_count (see read_lease_layout), then the queue and `count` tokens. */
static int rl_lease(redisContext *c, rargs_t *a, rng_t *r, const char *queue, int count, job_ref *out) {
    ra_prefix(a, fn_lease);
    char *cnt = ra_alloc(a, 16);
    snprintf(cnt, 16, "%d", count);
    for (int place = 1; place < lease_tail; place++) {
        if (place == lease_count) ra_str(a, cnt);
        else if (place == lease_queue_count) ra_str(a, "1");
        else ra_add(a, "", 0);
    }
    ra_str(a, queue);
    for (int i = 0; i < count; i++) {
        char *t = ra_alloc(a, 33);
        hex_token(r, t, 32);
        ra_add(a, t, 32);
    }
    redisReply *rep = redisCommandArgv(c, (int)a->argc, a->argv, a->argl);
    if (!rep) return -1;
    int n = 0;
    /* {rows, shutdown}, the rows flat */
    redisReply *rows = rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 ? rep->element[0] : NULL;
    if (rows && rows->type == REDIS_REPLY_ARRAY) {
        for (size_t at = 0; at + lease_rows.width <= rows->elements && n < count; at += lease_rows.width) {
            redisReply *id = rows->element[at + lease_rows.id], *token = rows->element[at + lease_rows.lease];
            if (id->type != REDIS_REPLY_STRING || token->type != REDIS_REPLY_STRING) {
                note_error("lease.lua (row)", "unexpected row", 14);
                continue;
            }
            snprintf(out[n].id, sizeof out[n].id, "%s", id->str);
            snprintf(out[n].token, sizeof out[n].token, "%s", token->str);
            n++;
        }
    } else {
        note_error("lease.lua", rep->str ? rep->str : "unexpected reply", rep->str ? (size_t)rep->len : 16);
    }
    freeReplyObject(rep);
    return n;
}

/* ack.lua: (id, token, '') per job. */
static int rl_ack(redisContext *c, rargs_t *a, const job_ref *jobs, int n) {
    ra_prefix(a, fn_ack);
    for (int i = 0; i < n; i++) {
        ra_str(a, jobs[i].id);
        ra_str(a, jobs[i].token);
        ra_add(a, "", 0);
    }
    return rl_call(c, a, "ack.lua", &ack_rows, n, "finished");
}

/* ------------------------------------------------------------------ a generic client */

typedef struct {
    conn_t conn;          /* jobgate, beanstalkd */
    redisContext *redis;  /* redis-lua */
    rargs_t ra;
    sbuf_t sb;
    rng_t rng;
} client_t;

static void client_open(client_t *cl, int seed, int batch) {
    memset(cl, 0, sizeof *cl);
    rng_seed(&cl->rng, (uint64_t)seed * 7919u + (uint64_t)getpid() * 104729u + now_ns());
    if (opt.target == T_REDIS) {
        cl->redis = redis_open(opt.addr);
        ra_init(&cl->ra, (size_t)batch * (size_t)enqueue_slots + 16, (size_t)batch * ((size_t)opt.payload + 256) + 4096);
    } else {
        conn_open(&cl->conn, opt.addr);
    }
}

static void client_close(client_t *cl) {
    if (cl->redis) redisFree(cl->redis);
    if (cl->conn.buf) conn_close(&cl->conn);
    free(cl->ra.argv);
    free(cl->ra.argl);
    free(cl->ra.arena);
    free(cl->sb.p);
}

/* Enqueues `count` jobs in one request; jobs enqueued, or -1 on a broken connection. */
static int client_enqueue(client_t *cl, const char *queue, int count) {
    switch (opt.target) {
    case T_JOBGATE: return jg_enqueue(&cl->conn, &cl->sb, &cl->rng, queue, count);
    case T_BEANSTALKD: return bs_put(&cl->conn, &cl->sb, &cl->rng);
    case T_REDIS: return rl_enqueue(cl->redis, &cl->ra, &cl->rng, queue, count);
    }
    return -1;
}

/* Leases up to `count` jobs, waiting up to opt.lease_wait on an empty queue. */
static int client_lease(client_t *cl, const char *queue, int count, job_ref *out) {
    switch (opt.target) {
    case T_JOBGATE:
        if (jg_lease_send(&cl->conn, queue, count, opt.lease_wait) != 0) return -1;
        return jg_lease_recv(&cl->conn, out, count);
    case T_BEANSTALKD: {
        int t = (int)(opt.lease_wait + 0.999);
        if (bs_reserve_send(&cl->conn, t < 1 ? 1 : t) != 0) return -1;
        return bs_reserve_recv(&cl->conn, out);
    }
    case T_REDIS: {
        /* Redis has no blocking form of the script: poll, as a direct client would. */
        int n = rl_lease(cl->redis, &cl->ra, &cl->rng, queue, count, out);
        if (n == 0) sleep_ns(1000000);
        return n;
    }
    }
    return -1;
}

static int client_ack(client_t *cl, const job_ref *jobs, int n) {
    switch (opt.target) {
    case T_JOBGATE: return jg_ack(&cl->conn, &cl->sb, jobs, n);
    case T_BEANSTALKD: return bs_delete(&cl->conn, &jobs[0]);
    case T_REDIS: return rl_ack(cl->redis, &cl->ra, jobs, n);
    }
    return -1;
}

/* beanstalkd connections name their tube once. */
static void client_as_producer(client_t *cl, const char *queue) {
    if (opt.target == T_BEANSTALKD) bs_use(&cl->conn, queue);
}
static void client_as_worker(client_t *cl, const char *queue) {
    if (opt.target == T_BEANSTALKD) bs_watch(&cl->conn, queue);
}

/* ------------------------------------------------------------------ CPU accounting */

#define MAX_CPU 8
static struct {
    int n;
    char name[MAX_CPU][32];
    long pid[MAX_CPU];
} cpu_watch;

static void parse_cpu_opt(void) {
    if (!opt.cpu) return;
    char *copy = strdup(opt.cpu), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && cpu_watch.n < MAX_CPU; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) die("--cpu wants NAME=PID,...");
        *eq = 0;
        snprintf(cpu_watch.name[cpu_watch.n], sizeof cpu_watch.name[0], "%s", tok);
        cpu_watch.pid[cpu_watch.n++] = atol(eq + 1);
    }
    free(copy);
}

/* utime + stime of a process, in microseconds. */
static uint64_t proc_cpu_us(long pid) {
    char path[64], line[2048];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    char *p = strrchr(line, ')');
    if (!p) return 0;
    unsigned long long ut = 0, st = 0;
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return 0;
    return (ut + st) * 1000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
}

static uint64_t self_cpu_us(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ull + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

typedef struct {
    uint64_t server[MAX_CPU], self;
} cpu_snap;

static void cpu_take(cpu_snap *s) {
    for (int i = 0; i < cpu_watch.n; i++) s->server[i] = proc_cpu_us(cpu_watch.pid[i]);
    s->self = self_cpu_us();
}

/* Prints each watched process's share of one core over the window, their sum, the load
 * generator's own, and the servers' CPU time per job operation (enqueue, lease or ack of one job). */
static void cpu_print(const cpu_snap *a, const cpu_snap *b, double seconds, double job_ops) {
    uint64_t total = 0;
    for (int i = 0; i < cpu_watch.n; i++) {
        uint64_t d = b->server[i] - a->server[i];
        total += d;
        printf(" cpu_%s_pct=%.0f", cpu_watch.name[i], (double)d / (seconds * 1e4));
    }
    if (cpu_watch.n) {
        printf(" cpu_server_pct=%.0f", (double)total / (seconds * 1e4));
        printf(" server_us_per_op=%.1f", job_ops > 0 ? (double)total / job_ops : -1.0);
    }
    printf(" cpu_loadgen_pct=%.0f", (double)(b->self - a->self) / (seconds * 1e4));
}

/* ------------------------------------------------------------------ load scenarios */

typedef struct {
    int index;
    int is_worker;
    int batch;
    uint64_t t_measure, t_end;
    /* paced producers (latency scenario): first send time and interval */
    uint64_t t_first, interval;
    long done_jobs;       /* jobs enqueued (producers) or acked (workers) inside the window */
    long requests;
    long errors;
    long behind;          /* paced sends never made: the target fell too far behind */
    samples_t lat;        /* enqueue latency or lease+ack cycle latency */
    pthread_barrier_t *ready;
    const char *queue;
} worker_arg;

static void *producer_main(void *p) {
    worker_arg *w = p;
    client_t cl;
    client_open(&cl, w->index, w->batch);
    client_as_producer(&cl, w->queue);
    pthread_barrier_wait(w->ready);
    for (;;) {
        uint64_t t0 = now_ns();
        if (t0 >= w->t_end) break;
        int n = client_enqueue(&cl, w->queue, w->batch);
        uint64_t t1 = now_ns();
        if (n < 0) die("connection to %s lost (producer)", opt.addr);
        if (n < w->batch) w->errors += w->batch - n;
        if (t0 >= w->t_measure && t1 <= w->t_end) {
            w->done_jobs += n;
            w->requests++;
            samples_add(&w->lat, t1 - t0);
        }
    }
    client_close(&cl);
    return NULL;
}

static void *paced_producer_main(void *p) {
    worker_arg *w = p;
    client_t cl;
    client_open(&cl, w->index, 1);
    client_as_producer(&cl, w->queue);
    pthread_barrier_wait(w->ready);
    for (uint64_t k = 0;; k++) {
        uint64_t due = w->t_first + k * w->interval;
        if (due >= w->t_end) break;
        uint64_t t0 = now_ns();
        if (t0 > w->t_end + 2000000000ull) {
            /* Hopelessly behind the pace: count what was never sent, and stop. */
            w->behind += (long)((w->t_end - due + w->interval - 1) / w->interval);
            break;
        }
        if (t0 < due) sleep_until(due);
        int n = client_enqueue(&cl, w->queue, 1);
        uint64_t t1 = now_ns();
        if (n < 0) die("connection to %s lost (producer)", opt.addr);
        if (n < 1) w->errors++;
        if (due >= w->t_measure) {
            /* Latency from the scheduled send time: a target that falls behind is charged for it. */
            samples_add(&w->lat, t1 - due);
            if (t1 <= w->t_end) {
                w->done_jobs += n;
                w->requests++;
            }
        }
    }
    client_close(&cl);
    return NULL;
}

static void *consumer_main(void *p) {
    worker_arg *w = p;
    client_t cl;
    client_open(&cl, 1000 + w->index, w->batch);
    client_as_worker(&cl, w->queue);
    job_ref *jobs = calloc((size_t)w->batch, sizeof *jobs);
    pthread_barrier_wait(w->ready);
    for (;;) {
        uint64_t t0 = now_ns();
        if (t0 >= w->t_end) break;
        int n = client_lease(&cl, w->queue, w->batch, jobs);
        if (n < 0) die("connection to %s lost (worker)", opt.addr);
        if (n == 0) continue;
        int acked = client_ack(&cl, jobs, n);
        uint64_t t1 = now_ns();
        if (acked < 0) die("connection to %s lost (worker)", opt.addr);
        if (acked < n) w->errors += n - acked;
        if (t0 >= w->t_measure && t1 <= w->t_end) {
            w->done_jobs += acked;
            w->requests++;
            samples_add(&w->lat, t1 - t0);
        }
    }
    free(jobs);
    client_close(&cl);
    return NULL;
}

typedef struct {
    long jobs, requests, errors, behind;
    samples_t lat;
} totals_t;

static cpu_snap cpu_at_start, cpu_at_end; /* at the start and end of the measured window */

/* Runs P producers (paced or not) and W consumers for warmup + duration. */
static void run_load(int producers, int workers, int batch, int paced, const char *queue, totals_t *prod, totals_t *work) {
    int total = producers + workers;
    pthread_t *th = calloc((size_t)total, sizeof *th);
    worker_arg *args = calloc((size_t)total, sizeof *args);
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, (unsigned)total + 1);
    for (int i = 0; i < total; i++) {
        args[i].index = i;
        args[i].is_worker = i >= producers;
        args[i].batch = batch;
        args[i].ready = &ready;
        args[i].queue = queue;
    }
    /* Every connection is open before the clock starts. */
    uint64_t t_start = 0;
    for (int i = 0; i < total; i++) {
        void *(*fn)(void *) = args[i].is_worker ? consumer_main : paced ? paced_producer_main : producer_main;
        args[i].t_end = UINT64_MAX; /* set below, before the barrier releases anyone */
        if (pthread_create(&th[i], NULL, fn, &args[i]) != 0) die("pthread_create failed");
    }
    /* The threads read t_* only after the barrier, so setting them here is race-free. */
    t_start = now_ns() + 50000000ull; /* connections settle for 50 ms */
    uint64_t t_measure = t_start + (uint64_t)(opt.warmup * 1e9);
    uint64_t t_end = t_measure + (uint64_t)(opt.duration * 1e9);
    for (int i = 0; i < total; i++) {
        args[i].t_measure = t_measure;
        args[i].t_end = t_end;
        if (paced && !args[i].is_worker) {
            double per_thread = opt.rate / producers;
            args[i].interval = (uint64_t)(1e9 / per_thread);
            /* spread the producers' phases evenly */
            args[i].t_first = t_start + args[i].interval * (uint64_t)i / (uint64_t)producers;
        }
    }
    pthread_barrier_wait(&ready);
    sleep_until(t_measure);
    cpu_take(&cpu_at_start);
    sleep_until(t_end);
    cpu_take(&cpu_at_end);
    for (int i = 0; i < total; i++) pthread_join(th[i], NULL);
    memset(prod, 0, sizeof *prod);
    memset(work, 0, sizeof *work);
    for (int i = 0; i < total; i++) {
        totals_t *t = args[i].is_worker ? work : prod;
        t->jobs += args[i].done_jobs;
        t->requests += args[i].requests;
        t->errors += args[i].errors;
        t->behind += args[i].behind;
        samples_merge(&t->lat, &args[i].lat);
        free(args[i].lat.v);
    }
    samples_sort(&prod->lat);
    samples_sort(&work->lat);
    pthread_barrier_destroy(&ready);
    free(th);
    free(args);
}

static void print_head(const char *scenario) {
    printf("target=%s scenario=%s", target_names[opt.target], scenario);
}
static void print_tail(void) {
    if (opt.label && *opt.label) printf(" %s", opt.label);
    printf("\n");
    fflush(stdout);
}

static void scenario_cycle(const char *queue) {
    totals_t p, w;
    run_load(opt.producers, opt.workers, 1, 0, queue, &p, &w);
    print_head("cycle");
    printf(" producers=%d workers=%d duration_s=%g jobs_per_s=%.1f enq_per_s=%.1f enq_p50_us=%.1f enq_p99_us=%.1f"
           " cycle_p50_us=%.1f cycle_p99_us=%.1f errors=%ld",
           opt.producers, opt.workers, opt.duration, w.jobs / opt.duration, p.jobs / opt.duration,
           pct_us(&p.lat, 0.50), pct_us(&p.lat, 0.99), pct_us(&w.lat, 0.50), pct_us(&w.lat, 0.99), p.errors + w.errors);
    cpu_print(&cpu_at_start, &cpu_at_end, opt.duration, (double)p.jobs + 2.0 * (double)w.jobs);
    print_tail();
    free(p.lat.v);
    free(w.lat.v);
}

static void scenario_batch(const char *queue) {
    if (opt.target == T_BEANSTALKD) die("the batch scenario is for jobgate and redis-lua only (beanstalkd has no batch ops)");
    totals_t p, w;
    run_load(opt.producers, opt.workers, opt.batch, 0, queue, &p, &w);
    print_head("batch");
    printf(" producers=%d workers=%d batch=%d duration_s=%g jobs_per_s=%.1f enq_jobs_per_s=%.1f"
           " enq_p50_us=%.1f enq_p99_us=%.1f cycle_p50_us=%.1f cycle_p99_us=%.1f errors=%ld",
           opt.producers, opt.workers, opt.batch, opt.duration, w.jobs / opt.duration, p.jobs / opt.duration,
           pct_us(&p.lat, 0.50), pct_us(&p.lat, 0.99), pct_us(&w.lat, 0.50), pct_us(&w.lat, 0.99), p.errors + w.errors);
    cpu_print(&cpu_at_start, &cpu_at_end, opt.duration, (double)p.jobs + 2.0 * (double)w.jobs);
    print_tail();
    free(p.lat.v);
    free(w.lat.v);
}

/* ------------------------------------------------------------------ wake-up latency */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int armed;            /* sample index the worker is waiting for (+1) */
    int done;             /* samples finished by the worker */
    uint64_t *t_recv;     /* when the worker got each sample's job (0: it got none) */
    const char *queue;
    int samples;
    long timeouts;
} wake_t;

static void wake_signal(wake_t *wk, int *field, int value) {
    pthread_mutex_lock(&wk->mu);
    *field = value;
    pthread_cond_broadcast(&wk->cv);
    pthread_mutex_unlock(&wk->mu);
}

static void wake_wait(wake_t *wk, int *field, int value) {
    pthread_mutex_lock(&wk->mu);
    while (*field < value) pthread_cond_wait(&wk->cv, &wk->mu);
    pthread_mutex_unlock(&wk->mu);
}

static void *wake_worker_main(void *p) {
    wake_t *wk = p;
    client_t cl;
    client_open(&cl, 4242, 1);
    client_as_worker(&cl, wk->queue);
    redisContext *sub = NULL;
    if (opt.target == T_REDIS) {
        /* The channel jobgate's scripts publish to when a queue becomes non-empty. */
        sub = redis_open(opt.addr);
        redisReply *r = redisCommand(sub, "SUBSCRIBE jobgate:ready");
        if (!r) die("SUBSCRIBE failed");
        freeReplyObject(r);
        struct timeval tv = {.tv_sec = 6, .tv_usec = 0};
        redisSetTimeout(sub, tv);
    }
    job_ref job;
    for (int i = 0; i < wk->samples; i++) {
        int got = 0;
        switch (opt.target) {
        case T_JOBGATE:
            if (jg_lease_send(&cl.conn, wk->queue, 1, 5) != 0) die("connection lost (wake worker)");
            wake_signal(wk, &wk->armed, i + 1);
            got = jg_lease_recv(&cl.conn, &job, 1);
            break;
        case T_BEANSTALKD:
            if (bs_reserve_send(&cl.conn, 5) != 0) die("connection lost (wake worker)");
            wake_signal(wk, &wk->armed, i + 1);
            got = bs_reserve_recv(&cl.conn, &job);
            break;
        case T_REDIS: {
            uint64_t give_up = now_ns() + 5000000000ull;
            for (;;) {
                got = rl_lease(cl.redis, &cl.ra, &cl.rng, wk->queue, 1, &job);
                if (got != 0 || now_ns() > give_up) break;
                wake_signal(wk, &wk->armed, i + 1);
                redisReply *m = NULL;
                if (redisGetReply(sub, (void **)&m) != REDIS_OK) die("subscription lost: %s", sub->errstr);
                freeReplyObject(m); /* any queue's message: just try again */
            }
            break;
        }
        }
        uint64_t t = now_ns();
        if (got < 0) die("connection lost (wake worker)");
        wk->t_recv[i] = got > 0 ? t : 0;
        if (got > 0) {
            if (client_ack(&cl, &job, 1) < 0) die("connection lost (wake worker)");
        } else {
            wk->timeouts++;
        }
        wake_signal(wk, &wk->done, i + 1);
    }
    if (sub) redisFree(sub);
    client_close(&cl);
    return NULL;
}

/* Median and p99 of enqueue-send -> lease-reply-received for a worker already waiting. */
static void measure_wake(const char *queue, samples_t *out, long *timeouts) {
    wake_t wk = {.queue = queue, .samples = opt.samples};
    pthread_mutex_init(&wk.mu, NULL);
    pthread_cond_init(&wk.cv, NULL);
    wk.t_recv = calloc((size_t)opt.samples, sizeof *wk.t_recv);
    uint64_t *t_send = calloc((size_t)opt.samples, sizeof *t_send);
    client_t prod;
    client_open(&prod, 4343, 1);
    client_as_producer(&prod, queue);
    pthread_t th;
    pthread_create(&th, NULL, wake_worker_main, &wk);
    for (int i = 0; i < opt.samples; i++) {
        wake_wait(&wk, &wk.armed, i + 1);
        sleep_ns((uint64_t)(opt.gap_ms * 1e6)); /* let the target park the waiting lease */
        t_send[i] = now_ns();
        if (client_enqueue(&prod, queue, 1) < 0) die("connection lost (wake producer)");
        wake_wait(&wk, &wk.done, i + 1);
    }
    pthread_join(th, NULL);
    for (int i = 0; i < opt.samples; i++)
        if (wk.t_recv[i]) samples_add(out, wk.t_recv[i] - t_send[i]);
    samples_sort(out);
    *timeouts = wk.timeouts;
    client_close(&prod);
    free(wk.t_recv);
    free(t_send);
}

static void scenario_latency(const char *queue) {
    totals_t p, w;
    run_load(opt.producers, 0, 1, 1, queue, &p, &w);
    cpu_snap load_a = cpu_at_start, load_b = cpu_at_end;
    char wq[256];
    snprintf(wq, sizeof wq, "%s-wake", queue);
    samples_t wake = {0};
    long timeouts = 0;
    measure_wake(wq, &wake, &timeouts);
    print_head("latency");
    printf(" producers=%d rate=%g duration_s=%g achieved_per_s=%.1f unsent=%ld enq_p50_us=%.1f enq_p99_us=%.1f"
           " wake_samples=%zu wake_p50_us=%.1f wake_p99_us=%.1f wake_max_us=%.1f errors=%ld",
           opt.producers, opt.rate, opt.duration, p.jobs / opt.duration, p.behind, pct_us(&p.lat, 0.50), pct_us(&p.lat, 0.99),
           wake.n, pct_us(&wake, 0.50), pct_us(&wake, 0.99), pct_us(&wake, 1.0), p.errors + timeouts);
    cpu_print(&load_a, &load_b, opt.duration, (double)p.jobs);
    print_tail();
    free(p.lat.v);
    free(w.lat.v);
    free(wake.v);
}

/* ------------------------------------------------------------------ idle connections */

static long rss_kb(long pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) die("cannot read %s: %s", path, strerror(errno));
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static void raise_nofile(long want) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if ((long)rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    if ((long)rl.rlim_cur < want)
        die("need %ld file descriptors but RLIMIT_NOFILE is %ld (raise the hard limit, or lower --conns)",
            want, (long)rl.rlim_cur);
}

static void scenario_idle(void) {
    if (opt.pid <= 0) die("idle-conns needs --pid (the server's process id)");
    raise_nofile(opt.conns + 64L);
    long before = rss_kb(opt.pid);
    int *fds = malloc((size_t)opt.conns * sizeof *fds);
    const char *ping;
    const char *expect;
    switch (opt.target) {
    case T_JOBGATE: ping = "{\"op\":\"ping\"}\n"; expect = "{\"ok\":true"; break;
    case T_BEANSTALKD: ping = "use default\r\n"; expect = "USING"; break;
    default: ping = "PING\r\n"; expect = "+PONG"; break;
    }
    uint64_t t0 = now_ns();
    int opened = 0;
    char buf[4096];
    for (int i = 0; i < opt.conns; i++) {
        int fd = dial(opt.addr);
        if (fd < 0) {
            fprintf(stderr, "loadgen: connection %d failed: %s\n", i, strerror(errno));
            break;
        }
        /* One round trip, so the server has surely accepted the connection (a connect alone
         * may still sit in the listen backlog). */
        if (write_all(fd, ping, strlen(ping)) != 0) { close(fd); break; }
        size_t got = 0;
        while (got == 0 || memchr(buf, '\n', got) == NULL) {
            ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
            if (r <= 0) break;
            got += (size_t)r;
            if (got >= sizeof buf - 1) break;
        }
        if (got < strlen(expect) || strncmp(buf, expect, strlen(expect)) != 0) {
            buf[got] = 0;
            fprintf(stderr, "loadgen: connection %d: unexpected reply %.200s\n", i, buf);
            close(fd);
            break;
        }
        fds[opened++] = fd;
    }
    double open_s = (double)(now_ns() - t0) / 1e9;
    sleep_ns(500000000ull);
    long after = rss_kb(opt.pid);
    print_head("idle-conns");
    printf(" conns=%d opened=%d open_s=%.2f rss_before_kb=%ld rss_after_kb=%ld per_conn_b=%.0f errors=%d",
           opt.conns, opened, open_s, before, after, opened ? (double)(after - before) * 1024.0 / opened : 0.0,
           opt.conns - opened);
    print_tail();
    /* Close with RST, so 10,000 sockets do not sit in TIME_WAIT between runs. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    for (int i = 0; i < opened; i++) {
        setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fds[i]);
    }
    free(fds);
}

/* ------------------------------------------------------------------ main */

static void usage(void) {
    fprintf(stderr,
        "usage: loadgen --target jobgate|beanstalkd|redis-lua --addr ADDR --scenario cycle|batch|latency|idle-conns [options]\n"
        "  --addr ADDR        tcp://HOST:PORT or unix:PATH (for redis-lua: Redis's address)\n"
        "  --scripts DIR      <op>.lua libraries to load, for redis-lua (see bench/README.md)\n"
        "  --producers N      producer connections (default 8)\n"
        "  --workers N        worker connections (default 8)\n"
        "  --duration S       measured seconds (default 5)\n"
        "  --warmup S         unmeasured seconds first (default 0.5)\n"
        "  --payload BYTES    job payload size (default 100)\n"
        "  --batch N          jobs per batch request, batch scenario (default 200)\n"
        "  --rate R           total enqueues per second, latency scenario (default 10000)\n"
        "  --samples N        wake-up samples, latency scenario (default 1000)\n"
        "  --gap-ms MS        wake-up: pause before each enqueue so the lease is parked (default 2)\n"
        "  --lease-wait S     how long a worker's lease waits on an empty queue (default 0.5)\n"
        "  --conns K          idle connections, idle-conns scenario (default 10000)\n"
        "  --pid PID          the server process whose RSS idle-conns reports\n"
        "  --queue NAME       queue/tube name (default bench-<pid>)\n"
        "  --label TEXT       appended to the result line (e.g. round=2)\n"
        "  --cpu NAME=PID,..  report these server processes' CPU use over the measured window\n");
    exit(2);
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && (i++, 1))
        if (ARG("--target")) {
            if (!strcmp(v, "jobgate")) opt.target = T_JOBGATE;
            else if (!strcmp(v, "beanstalkd")) opt.target = T_BEANSTALKD;
            else if (!strcmp(v, "redis-lua")) opt.target = T_REDIS;
            else die("unknown target %s", v);
        } else if (ARG("--addr")) opt.addr = v;
        else if (ARG("--scenario")) opt.scenario = v;
        else if (ARG("--scripts")) opt.scripts = v;
        else if (ARG("--queue")) opt.queue = v;
        else if (ARG("--producers")) opt.producers = atoi(v);
        else if (ARG("--workers")) opt.workers = atoi(v);
        else if (ARG("--duration")) opt.duration = atof(v);
        else if (ARG("--warmup")) opt.warmup = atof(v);
        else if (ARG("--payload")) opt.payload = atoi(v);
        else if (ARG("--batch")) opt.batch = atoi(v);
        else if (ARG("--rate")) opt.rate = atof(v);
        else if (ARG("--samples")) opt.samples = atoi(v);
        else if (ARG("--gap-ms")) opt.gap_ms = atof(v);
        else if (ARG("--lease-wait")) opt.lease_wait = atof(v);
        else if (ARG("--conns")) opt.conns = atoi(v);
        else if (ARG("--pid")) opt.pid = atol(v);
        else if (ARG("--label")) opt.label = v;
        else if (ARG("--cpu")) opt.cpu = v;
        else usage();
#undef ARG
    }
    if (!opt.addr || !opt.scenario) usage();
    if (opt.payload < 1 || opt.payload > 4000) die("--payload must be 1..4000");
    if (opt.batch < 1 || opt.batch > 1000) die("--batch must be 1..1000 (jobgate's lease count limit)");
    if (opt.producers < 1 || opt.workers < 0 || opt.duration <= 0 || opt.rate <= 0 || opt.samples < 1)
        die("bad --producers/--workers/--duration/--rate/--samples");
    char queue[200];
    snprintf(queue, sizeof queue, "%s", opt.queue ? opt.queue : "bench");
    if (!opt.queue) snprintf(queue, sizeof queue, "bench-%d", (int)getpid());
    raise_nofile(opt.producers + opt.workers + 64L);
    parse_cpu_opt();

    if (opt.target == T_REDIS && strcmp(opt.scenario, "idle-conns") != 0) {
        redisContext *c = redis_open(opt.addr);
        load_script(c, "enqueue", fn_enqueue);
        load_script(c, "lease", fn_lease);
        load_script(c, "ack", fn_ack);
        redisFree(c);
    }
    if (!strcmp(opt.scenario, "cycle")) scenario_cycle(queue);
    else if (!strcmp(opt.scenario, "batch")) scenario_batch(queue);
    else if (!strcmp(opt.scenario, "latency")) scenario_latency(queue);
    else if (!strcmp(opt.scenario, "idle-conns")) scenario_idle();
    else die("unknown scenario %s", opt.scenario);
    return 0;
}
