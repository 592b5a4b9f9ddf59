/* test_listen_store.c: writing event lines (listen_store.c): a write that
 * stops part way reports the error that stopped it and leaves nothing of
 * the line in a regular file; a pipe is prepared for non-blocking writes
 * and its status flags are put back on close. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "listen_store.h"

static off_t size_of(int fd) {
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  return st.st_size;
}

/* A store on fd as listen_store_open leaves stdout. */
static listen_store store_on(int fd) {
  listen_store s;
  memset(&s, 0, sizeof s);
  s.fd = fd;
  s.saved_flags = -1;
  return s;
}

static void test_listen_store_cut_line_reports_real_error(void **state) {
  (void)state;
  char path[] = "/tmp/flurry-store-XXXXXX";
  int tmp = mkstemp(path);
  assert_true(tmp >= 0);
  close(tmp);
  listen_store s;
  char err[256];
  assert_int_equal(listen_store_open(&s, path, err, sizeof err), 0);
  assert_int_equal(listen_store_append(&s, "{\"a\":1}\n", 8), 0);
  /* a file size limit 8 bytes further: the next line stops part way, as
   * on a full disk; the kernel says EFBIG (SIGXFSZ ignored) */
  struct rlimit old, lim;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = 16;
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  errno = 0;
  int rc = listen_store_append(&s, "{\"b\":\"0123456789\"}\n", 19);
  int e = errno;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, prev);
  assert_int_equal(rc, -1);
  assert_int_equal(e, EFBIG);         /* not a made-up ENOSPC */
  assert_int_equal(size_of(s.fd), 8); /* the part written was cut off */
  assert_int_equal(listen_store_append(&s, "{\"c\":3}\n", 8), 0);
  char back[64] = {0};
  assert_int_equal(pread(s.fd, back, sizeof back - 1, 0), 16);
  assert_string_equal(back, "{\"a\":1}\n{\"c\":3}\n");
  listen_store_close(&s);
  unlink(path);
}

static void test_listen_store_pipe_flags_put_back(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  listen_store s = store_on(p[1]);
  assert_int_equal(listen_store_stream(&s), 1); /* not a regular file */
  assert_int_equal(s.fd, p[1]);                 /* not a terminal */
  int before = fcntl(p[1], F_GETFL);
  assert_int_equal(before & O_NONBLOCK, 0);
  assert_int_equal(fcntl(p[1], F_SETFL, before | O_NONBLOCK), 0);
  /* full: writev says EAGAIN, nothing partial is invented */
  char block[4096];
  memset(block, 'x', sizeof block);
  struct iovec iov = {block, sizeof block};
  long got;
  size_t total = 0;
  while ((got = listen_store_writev(&s, &iov, 1)) > 0)
    total += (size_t)got;
  assert_int_equal(got, -1);
  assert_int_equal(errno, EAGAIN);
  assert_true(total > 0);
  /* listen_store_append on it reports that EAGAIN too */
  assert_int_equal(listen_store_append(&s, "x\n", 2), -1);
  assert_int_equal(errno, EAGAIN);
  listen_store_close(&s);
  /* stdout's write end is not ours to close, but its flags are back */
  assert_int_equal(fcntl(p[1], F_GETFL), before);
  close(p[0]);
  close(p[1]);
}

static void test_listen_store_stdout_regular_file(void **state) {
  (void)state;
  FILE *f = tmpfile();
  assert_non_null(f);
  int fd = fileno(f);
  assert_int_equal(write(fd, "1234\n", 5), 5); /* the port line */
  listen_store s = store_on(fd);
  assert_int_equal(listen_store_stream(&s), 0);
  assert_int_equal(s.regular, 1);
  assert_int_equal((int)s.size, 5);
  assert_int_equal(listen_store_append(&s, "{}\n", 3), 0);
  assert_int_equal(size_of(fd), 8);
  listen_store_close(&s);
  fclose(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_listen_store_cut_line_reports_real_error),
      cmocka_unit_test(test_listen_store_pipe_flags_put_back),
      cmocka_unit_test(test_listen_store_stdout_regular_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
