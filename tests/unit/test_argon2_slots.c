/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slots for Argon2id runs shared by processes (common/base/
 * argon2_slots.c): the bound holds across processes, a waiter gets the
 * slot another process leaves, a process that dies holding a slot loses
 * it, runs use the slot's buffer, and a file of the table is shared,
 * replaced when its dimensions differ, and refused where others could
 * read it or where it would reach a disk.
 */
#define _GNU_SOURCE /* fstatfs */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <argon2.h>

#include "argon2_run.h"
#include "argon2_slots.h"

#define M_COST 64 /* KiB: quick runs */
#define SHM_DIR "/dev/shm"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

static size_t small_bytes(void)
{
    return csam_argon2_memory(M_COST, 1);
}

static int on_memory_fs(const char *dir)
{
    struct statfs fs;

    return statfs(dir, &fs) == 0
           && ((long)fs.f_type == 0x01021994L
               || (long)fs.f_type == (long)0x858458f6L);
}

static long elapsed_ms(const struct timespec *from)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - from->tv_sec) * 1000
           + (now.tv_nsec - from->tv_nsec) / 1000000;
}

static void test_bound_and_recent_first(void **state)
{
    struct csam_argon2_slots *t;
    unsigned busy;
    int replaced, waited, a, b;
    struct timespec t0;

    (void)state;
    assert_int_equal(csam_argon2_slots_map(NULL, 2, small_bytes(), &t,
                                           &replaced, NULL, 0),
                     CSAM_OK);
    assert_int_equal(csam_argon2_slots_count(t), 2);
    a = csam_argon2_slots_enter(t, 0, &busy, &waited);
    assert_true(a >= 0);
    assert_int_equal(busy, 1);
    b = csam_argon2_slots_enter(t, 0, &busy, &waited);
    assert_true(b >= 0 && b != a);
    assert_int_equal(busy, 2);
    /* Full: the third waits its time, then gets nothing. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(csam_argon2_slots_enter(t, 150, &busy, &waited), -1);
    assert_true(waited);
    assert_in_range(elapsed_ms(&t0), 140, 2000);
    /* The slot left last is the next one taken: its memory is warm. */
    csam_argon2_slots_leave(t, a);
    csam_argon2_slots_leave(t, b);
    assert_int_equal(csam_argon2_slots_enter(t, 0, &busy, &waited), b);
    assert_false(waited);
    csam_argon2_slots_leave(t, b);
    csam_argon2_slots_unmap(t);
}

/* Dimensions out of range are refused, and the reason says so. */
static void test_dimensions_refused(void **state)
{
    static const struct {
        unsigned slots;
        size_t bytes;
    } bad[] = {{0, 4096},
               {CSAM_ARGON2_SLOTS_MAX + 1, 4096},
               {2, 0},
               {2, SIZE_MAX / 2}};
    struct csam_argon2_slots *t;
    char why[256];
    int replaced;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(csam_argon2_slots_map(NULL, bad[i].slots, bad[i].bytes,
                                               &t, &replaced, why, sizeof(why)),
                         CSAM_ERR_INVALID);
        assert_null(t);
        assert_non_null(strstr(why, "out of range"));
    }
}

/* The bytes of the one slot of the table in fd: the buffers end the
 * file (argon2_slots.c: a header page, then the buffers). */
static void slot_fill(int fd, unsigned char byte)
{
    static unsigned char buf[M_COST * 1024];
    struct stat st;

    assert_int_equal(fstat(fd, &st), 0);
    memset(buf, byte, sizeof(buf));
    assert_int_equal(pwrite(fd, buf, sizeof(buf),
                            st.st_size - (off_t)sizeof(buf)),
                     (ssize_t)sizeof(buf));
}

/* Whether every byte of the slot is byte. */
static int slot_holds(int fd, unsigned char byte)
{
    static unsigned char buf[M_COST * 1024];
    struct stat st;
    size_t i;

    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(pread(fd, buf, sizeof(buf),
                           st.st_size - (off_t)sizeof(buf)),
                     (ssize_t)sizeof(buf));
    for (i = 0; i < sizeof(buf); i++) {
        if (buf[i] != byte)
            return 0;
    }
    return 1;
}

/* A run in a slot uses the slot's buffer (libargon2 wipes the memory it
 * ran in, so a pattern written there turns to zeros) and computes what
 * libargon2 alone does; a run that needs more memory than the slot has,
 * or that comes after the slot was given back, takes its own. */
static void test_runs_use_the_slot(void **state)
{
    static const unsigned char salt[16] = "0123456789abcdef";
    unsigned char want[32], got[32], big_want[32], big_got[32];
    struct csam_argon2_slots *t;
    char path[128], why[256];
    unsigned busy;
    int replaced, waited, s, fd;

    (void)state;
    if (!on_memory_fs(SHM_DIR))
        skip();
    assert_int_equal(small_bytes(), M_COST * 1024);
    assert_int_equal(argon2id_hash_raw(2, M_COST, 1, "pw", 2, salt,
                                       sizeof(salt), want, sizeof(want)),
                     ARGON2_OK);
    assert_int_equal(argon2id_hash_raw(1, 2 * M_COST, 1, "pw", 2, salt,
                                       sizeof(salt), big_want,
                                       sizeof(big_want)),
                     ARGON2_OK);
    (void)snprintf(path, sizeof(path), SHM_DIR "/csam-test-slots-u%ld",
                   (long)getpid());
    (void)unlink(path);
    assert_int_equal(csam_argon2_slots_map(path, 1, small_bytes(), &t,
                                           &replaced, why, sizeof(why)),
                     CSAM_OK);
    fd = open(path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);

    s = csam_argon2_slots_enter(t, 0, &busy, &waited);
    assert_int_equal(s, 0);
    slot_fill(fd, 0xA5);
    assert_int_equal(csam_argon2_run(2, M_COST, 1, "pw", 2, salt, sizeof(salt),
                                     got, sizeof(got)),
                     ARGON2_OK);
    assert_memory_equal(got, want, sizeof(want));
    assert_true(slot_holds(fd, 0));
    slot_fill(fd, 0xA5);
    assert_int_equal(csam_argon2_run(1, 2 * M_COST, 1, "pw", 2, salt,
                                     sizeof(salt), big_got, sizeof(big_got)),
                     ARGON2_OK);
    assert_memory_equal(big_got, big_want, sizeof(big_want));
    assert_true(slot_holds(fd, 0xA5));
    csam_argon2_slots_leave(t, s);
    /* The loan ended with the slot. */
    assert_int_equal(csam_argon2_run(2, M_COST, 1, "pw", 2, salt, sizeof(salt),
                                     got, sizeof(got)),
                     ARGON2_OK);
    assert_memory_equal(got, want, sizeof(want));
    assert_true(slot_holds(fd, 0xA5));
    assert_int_equal(close(fd), 0);
    csam_argon2_slots_unmap(t);
    assert_int_equal(unlink(path), 0);
}

/* A child that takes the only slot of t, then gives it back after
 * hold_ms, or holds it until killed (hold_ms < 0); back once it has it. */
static pid_t child_holding(struct csam_argon2_slots *t, long hold_ms)
{
    int fds[2];
    char c;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned busy;
        int waited, mine = csam_argon2_slots_enter(t, 0, &busy, &waited);

        if (write(fds[1], mine == 0 ? "y" : "n", 1) != 1)
            _exit(2);
        if (hold_ms < 0)
            for (;;)
                pause();
        sleep_ms(hold_ms);
        csam_argon2_slots_leave(t, mine);
        _exit(0);
    }
    assert_int_equal(read(fds[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    close(fds[0]);
    close(fds[1]);
    return pid;
}

/* A child holds the only slot for a while: the parent waits, then gets
 * it when the child leaves. */
static void test_waiter_gets_what_another_process_leaves(void **state)
{
    struct csam_argon2_slots *t;
    unsigned busy;
    int replaced, waited, s, status;
    struct timespec t0;
    pid_t pid;

    (void)state;
    assert_int_equal(csam_argon2_slots_map(NULL, 1, small_bytes(), &t,
                                           &replaced, NULL, 0),
                     CSAM_OK);
    pid = child_holding(t, 300);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s = csam_argon2_slots_enter(t, 5000, &busy, &waited);
    assert_int_equal(s, 0);
    assert_true(waited);
    assert_in_range(elapsed_ms(&t0), 200, 4000);
    csam_argon2_slots_leave(t, s);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    csam_argon2_slots_unmap(t);
}

/* A child dies holding the only slot: once it is gone, a waiter has the
 * slot within the recheck period, not at the end of its wait. */
static void test_dead_holder_loses_its_slot(void **state)
{
    struct csam_argon2_slots *t;
    unsigned busy;
    int replaced, waited, s, status;
    struct timespec t0;
    pid_t pid;

    (void)state;
    assert_int_equal(csam_argon2_slots_map(NULL, 1, small_bytes(), &t,
                                           &replaced, NULL, 0),
                     CSAM_OK);
    pid = child_holding(t, -1);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s = csam_argon2_slots_enter(t, 5000, &busy, &waited);
    assert_int_equal(s, 0);
    assert_in_range(elapsed_ms(&t0), 0, 2000);
    csam_argon2_slots_leave(t, s);
    csam_argon2_slots_unmap(t);
}

/* A child killed while it waits for the slot leaves nothing behind: the
 * slot given back afterwards is free at once for a caller that does not
 * wait, not handed to the dead waiter. */
static void test_dead_waiter_leaves_nothing(void **state)
{
    struct csam_argon2_slots *t;
    unsigned busy;
    int replaced, waited, s, status;
    pid_t pid;

    (void)state;
    assert_int_equal(csam_argon2_slots_map(NULL, 1, small_bytes(), &t,
                                           &replaced, NULL, 0),
                     CSAM_OK);
    s = csam_argon2_slots_enter(t, 0, &busy, &waited);
    assert_int_equal(s, 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int mine = csam_argon2_slots_enter(t, 60000, &busy, &waited);

        _exit(mine >= 0 ? 0 : 1);
    }
    sleep_ms(200); /* the child is asleep in the queue */
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    csam_argon2_slots_leave(t, s);
    s = csam_argon2_slots_enter(t, 0, &busy, &waited);
    assert_int_equal(s, 0);
    assert_false(waited);
    csam_argon2_slots_leave(t, s);
    csam_argon2_slots_unmap(t);
}

/* Four processes of 150 runs each through two slots: never three inside
 * at once, and none turned away (the wait is long). */
static void test_bound_holds_across_processes(void **state)
{
    struct csam_argon2_slots *t;
    struct {
        _Atomic int inside, most, refused;
    } * shared;
    int replaced, i, status;
    pid_t pids[4];

    (void)state;
    shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shared != MAP_FAILED);
    atomic_init(&shared->inside, 0);
    atomic_init(&shared->most, 0);
    atomic_init(&shared->refused, 0);
    assert_int_equal(csam_argon2_slots_map(NULL, 2, small_bytes(), &t,
                                           &replaced, NULL, 0),
                     CSAM_OK);
    for (i = 0; i < 4; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            int n;

            for (n = 0; n < 150; n++) {
                unsigned busy;
                int waited,
                    s = csam_argon2_slots_enter(t, 10000, &busy, &waited);
                int now, most;

                if (s < 0) {
                    atomic_fetch_add(&shared->refused, 1);
                    continue;
                }
                now = atomic_fetch_add(&shared->inside, 1) + 1;
                most = atomic_load(&shared->most);
                while (
                    now > most
                    && !atomic_compare_exchange_weak(&shared->most, &most, now))
                    ;
                {
                    struct timespec ts = {0, 200000L};

                    (void)nanosleep(&ts, NULL);
                }
                atomic_fetch_sub(&shared->inside, 1);
                csam_argon2_slots_leave(t, s);
            }
            _exit(0);
        }
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(atomic_load(&shared->refused), 0);
    assert_in_range(atomic_load(&shared->most), 1, 2);
    csam_argon2_slots_unmap(t);
    munmap(shared, sizeof(*shared));
}

/* Two maps of one file are one table; other dimensions replace it. */
static void test_file_shared_and_replaced(void **state)
{
    struct csam_argon2_slots *a, *b, *c;
    char path[128], why[256];
    unsigned busy;
    int replaced, waited, sa, sc;

    (void)state;
    if (!on_memory_fs(SHM_DIR))
        skip();
    (void)snprintf(path, sizeof(path), SHM_DIR "/csam-test-slots-%ld",
                   (long)getpid());
    (void)unlink(path);
    assert_int_equal(csam_argon2_slots_map(path, 1, small_bytes(), &a,
                                           &replaced, why, sizeof(why)),
                     CSAM_OK);
    assert_false(replaced);
    assert_int_equal(csam_argon2_slots_map(path, 1, small_bytes(), &b,
                                           &replaced, why, sizeof(why)),
                     CSAM_OK);
    assert_false(replaced);
    sa = csam_argon2_slots_enter(a, 0, &busy, &waited);
    assert_int_equal(sa, 0);
    assert_int_equal(csam_argon2_slots_enter(b, 50, &busy, &waited), -1);
    /* Two slots now: a new table, which a and b do not share. */
    assert_int_equal(csam_argon2_slots_map(path, 2, small_bytes(), &c,
                                           &replaced, why, sizeof(why)),
                     CSAM_OK);
    assert_true(replaced);
    assert_int_equal(csam_argon2_slots_count(c), 2);
    sc = csam_argon2_slots_enter(c, 0, &busy, &waited);
    assert_true(sc >= 0);
    assert_int_equal(busy, 1);
    csam_argon2_slots_leave(c, sc);
    csam_argon2_slots_leave(a, sa);
    csam_argon2_slots_unmap(a);
    csam_argon2_slots_unmap(b);
    csam_argon2_slots_unmap(c);
    assert_int_equal(unlink(path), 0);
}

static void expect_refused(const char *path, const char *because)
{
    struct csam_argon2_slots *t = NULL;
    char why[256] = "";
    int replaced;

    assert_int_equal(csam_argon2_slots_map(path, 1, small_bytes(), &t,
                                           &replaced, why, sizeof(why)),
                     CSAM_ERR_INVALID);
    assert_null(t);
    if (strstr(why, because) == NULL)
        fail_msg("%s: \"%s\" does not say \"%s\"", path, why, because);
}

/* Refused: a file others may read, a symbolic link, a file of another
 * user (as root), a file on a disk. */
static void test_file_refused(void **state)
{
    char path[128], link_path[128], disk[256];
    int fd;

    (void)state;
    if (!on_memory_fs(SHM_DIR))
        skip();
    (void)snprintf(path, sizeof(path), SHM_DIR "/csam-test-slots-r%ld",
                   (long)getpid());
    (void)snprintf(link_path, sizeof(link_path),
                   SHM_DIR "/csam-test-slots-l%ld", (long)getpid());
    (void)unlink(path);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, 0644), 0);
    expect_refused(path, "only it may read and write");
    assert_int_equal(fchmod(fd, 0600), 0);
    if (geteuid() == 0) {
        assert_int_equal(fchown(fd, 65534, 65534), 0);
        expect_refused(path, "only it may read and write");
        assert_int_equal(fchown(fd, 0, 0), 0);
    }
    close(fd);
    assert_int_equal(symlink(path, link_path), 0);
    expect_refused(link_path, "cannot open");
    assert_int_equal(unlink(link_path), 0);
    assert_int_equal(unlink(path), 0);
    /* The build directory, unless it happens to be in memory. */
    assert_non_null(getcwd(disk, sizeof(disk) - 32));
    if (!on_memory_fs(disk)) {
        strcat(disk, "/csam-test-slots.disk");
        (void)unlink(disk);
        expect_refused(disk, "not on a memory file system");
        (void)unlink(disk);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_and_recent_first),
        cmocka_unit_test(test_dimensions_refused),
        cmocka_unit_test(test_runs_use_the_slot),
        cmocka_unit_test(test_waiter_gets_what_another_process_leaves),
        cmocka_unit_test(test_dead_holder_loses_its_slot),
        cmocka_unit_test(test_dead_waiter_leaves_nothing),
        cmocka_unit_test(test_bound_holds_across_processes),
        cmocka_unit_test(test_file_shared_and_replaced),
        cmocka_unit_test(test_file_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
