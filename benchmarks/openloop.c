// Open-loop HTTP/1.1 load generator: requests go out on a fixed schedule (request i is due at
// start + i/rate) whatever the server does, and each request's latency is measured from its
// *scheduled* send time, so a stall delays, and is counted in, every request due during it (no
// coordinated omission, as in wrk2). Built and run by benchmarks/lib.sh (`openloop_run`).
//
//   openloop HOST PORT HOST-HEADER RATE SECONDS CONNECTIONS
//
// N keep-alive connections, one request in flight on each (no pipelining); a request that falls
// due while every connection is busy waits for the first free one, and that wait is part of its
// latency. One thread, epoll, and a timerfd armed for the next due time (nanosecond resolution;
// timer slack set to 1 ns). Every latency is kept and sorted at the end: exact percentiles, no
// histogram buckets (5000 rps for 60 s is 2.4 MB). A response must carry Content-Length (nginx,
// HAProxy and Heddle all send it for these bodies). Prints one JSON object; exits 1 if any
// request failed (a non-2xx status, a connection closed or broken mid-request, or no answer
// within 5 s of the end).
#define _GNU_SOURCE  // strcasestr
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  int busy;            // a request is in flight
  uint64_t due;        // its scheduled send time (ns)
  char head[8192];     // the response head read so far
  size_t head_len;
  long body_left;      // -1 while the head is incomplete
} conn_t;

static struct sockaddr_in target;
static char request[512];
static size_t request_len;
static uint64_t *latencies, *lags;  // ns, one per completed request / per sent request
static long completed, sent;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void die(const char *what) { perror(what); exit(2); }

// (Re)opens a connection's socket, blocking (loopback connects at once), and registers it.
static void open_conn(int ep, conn_t *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0) die("socket");
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&target, sizeof target) < 0) die("connect");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
  c->busy = 0;
}

// A request in flight on c failed (it will count as failed: never completed), or the
// connection closed while idle: reconnect.
static void reset_conn(int ep, conn_t *c) {
  close(c->fd);
  open_conn(ep, c);
}

// Returns 0 if the request could not be written (c is then reopened, and still free).
static int send_request(int ep, conn_t *c, uint64_t due, uint64_t now) {
  lags[sent++] = now - due;
  // The request is a few dozen bytes on an idle socket: one write takes it whole.
  if (write(c->fd, request, request_len) != (ssize_t)request_len) { reset_conn(ep, c); return 0; }
  c->busy = 1; c->due = due; c->head_len = 0; c->body_left = -1;
  return 1;
}

// Reads what arrived on c; returns 1 when it completed the response in flight.
static int read_response(int ep, conn_t *c) {
  char buf[65536];
  ssize_t n = read(c->fd, buf, sizeof buf);
  if (n <= 0) { reset_conn(ep, c); return 0; }
  if (!c->busy) { reset_conn(ep, c); return 0; }  // unasked-for bytes: start afresh
  size_t body_bytes = n;
  if (c->body_left < 0) {  // still reading the head
    size_t take = n < (ssize_t)(sizeof c->head - 1 - c->head_len) ? (size_t)n : sizeof c->head - 1 - c->head_len;
    memcpy(c->head + c->head_len, buf, take);
    c->head_len += take;
    c->head[c->head_len] = 0;
    char *end = strstr(c->head, "\r\n\r\n");
    if (!end) { if (c->head_len >= sizeof c->head - 1) reset_conn(ep, c); return 0; }
    size_t head_size = end + 4 - c->head;
    body_bytes = c->head_len - head_size + (n - take);
    int status = atoi(c->head + 9);  // "HTTP/1.1 200 OK"
    char *cl = strcasestr(c->head, "\r\ncontent-length:");
    if (status < 200 || status > 299 || !cl || cl > end) { reset_conn(ep, c); return 0; }
    c->body_left = atol(cl + 17);
  }
  c->body_left -= body_bytes;
  if (c->body_left > 0) return 0;
  c->busy = 0;
  return 1;
}

static int compare(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

// The p-th percentile (0..100) of n sorted values, in microseconds.
static double percentile(const uint64_t *v, long n, double p) {
  if (n == 0) return 0;
  long i = (long)(p / 100.0 * n + 0.999999) - 1;
  if (i < 0) i = 0;
  if (i >= n) i = n - 1;
  return v[i] / 1000.0;
}

static void print_percentiles(const char *name, uint64_t *v, long n) {
  static const double ps[] = {50, 75, 90, 99, 99.9, 99.99, 100};
  qsort(v, n, sizeof *v, compare);
  printf("\"%s\":{", name);
  for (size_t k = 0; k < sizeof ps / sizeof *ps; k++)
    printf("%s\"p%g\":%.1f", k ? "," : "", ps[k], percentile(v, n, ps[k]));
  printf("}");
}

int main(int argc, char **argv) {
  if (argc != 7) { fprintf(stderr, "usage: %s HOST PORT HOST-HEADER RATE SECONDS CONNECTIONS\n", argv[0]); return 2; }
  long rate = atol(argv[4]), seconds = atol(argv[5]), nconn = atol(argv[6]);
  long total = rate * seconds;
  target.sin_family = AF_INET;
  target.sin_port = htons(atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &target.sin_addr) != 1 || rate <= 0 || seconds <= 0 || nconn <= 0) {
    fprintf(stderr, "bad arguments\n"); return 2;
  }
  request_len = snprintf(request, sizeof request, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", argv[3]);
  latencies = calloc(total, sizeof *latencies);
  lags = calloc(total, sizeof *lags);
  prctl(PR_SET_TIMERSLACK, 1);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, timer, &tev);
  conn_t *conns = calloc(nconn, sizeof *conns);
  conn_t **idle = calloc(nconn, sizeof *idle);  // a stack of the free connections
  long nidle = 0;
  for (long k = 0; k < nconn; k++) { open_conn(ep, &conns[k]); idle[nidle++] = &conns[k]; }

  uint64_t start = now_ns() + 10000000;  // 10 ms from now
  uint64_t deadline = start + (uint64_t)seconds * 1000000000u + 5000000000u;
  long next = 0;  // the next request to send
  for (;;) {
    uint64_t now = now_ns();
    // Send every request now due, while a connection is free.
    while (next < total && nidle > 0) {
      uint64_t due = start + (uint64_t)((double)next * 1e9 / rate);
      if (due > now) break;
      if (send_request(ep, idle[nidle - 1], due, now)) nidle--;
      next++;
    }
    long in_flight = nconn - nidle;
    if ((next == total && in_flight == 0) || now > deadline) break;
    // Sleep until the next due time (if a connection is free to take it) or an answer.
    if (next < total && nidle > 0) {
      uint64_t due = start + (uint64_t)((double)next * 1e9 / rate);
      struct itimerspec its = {.it_value = {.tv_sec = due / 1000000000u, .tv_nsec = due % 1000000000u}};
      timerfd_settime(timer, TFD_TIMER_ABSTIME, &its, NULL);
    }
    struct epoll_event events[64];
    int n = epoll_wait(ep, events, 64, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < n; k++) {
      conn_t *c = events[k].data.ptr;
      if (!c) { uint64_t expirations; (void)!read(timer, &expirations, sizeof expirations); continue; }
      int was_busy = c->busy;
      if (read_response(ep, c)) latencies[completed++] = now_ns() - c->due;
      if (was_busy && !c->busy) idle[nidle++] = c;  // answered, or failed and reopened
    }
  }
  long failed = total - completed;  // failed, never sent, or not answered by the deadline
  printf("{\"rate\":%ld,\"seconds\":%ld,\"connections\":%ld,\"requests\":%ld,\"completed\":%ld,\"failed\":%ld,",
         rate, seconds, nconn, total, completed, failed);
  print_percentiles("latency_us", latencies, completed);
  printf(",");
  print_percentiles("send_lag_us", lags, sent);  // how late requests went out (busy connections, or this process)
  printf("}\n");
  return failed ? 1 : 0;
}
