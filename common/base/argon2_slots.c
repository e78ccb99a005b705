/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slots for Argon2id runs in shared memory (argon2_slots.h says why).
 *
 * The table is a header page and the buffers.  A slot's owner word holds
 * the process id of its holder, or 0: taken and given back with atomic
 * compare-and-swap, so no lock exists that a process could die holding.
 * A waiter sleeps on the released counter (a futex, which works across
 * processes on shared memory) and looks again when it moves; after
 * 500 ms without a slot given back it lets go the slots of holders that
 * no longer exist.  Nothing else is shared: no count of waiters that a
 * process dying while it waits would leave wrong.
 */
#define _GNU_SOURCE /* fstatfs, flock */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#include "argon2_run.h"
#include "argon2_slots.h"

#define CSAM_SLOTS_MAGIC "CSAMAS02"
/* Buffers start on a page; the header takes the first ones. */
#define CSAM_SLOTS_PAGE 4096U
/* A waiter looks for holders that died this often. */
#define CSAM_SLOTS_RECHECK_MS 500U
/* statfs f_type of the memory file systems (linux/magic.h). */
#define CSAM_SLOTS_TMPFS 0x01021994L
#define CSAM_SLOTS_RAMFS 0x858458f6L

struct csam_slots_head {
    char magic[8];
    uint32_t slots;
    uint32_t reserved;
    uint64_t bytes;            /* of each slot's buffer */
    _Atomic uint32_t released; /* counts leaves: the futex word */
    _Atomic uint32_t recent;   /* the slot left last */
    _Atomic int32_t owner[];   /* a holder's process id, or 0 */
};

struct csam_argon2_slots {
    struct csam_slots_head *head;
    unsigned char *buffers;
    size_t stride; /* bytes from one buffer to the next */
    size_t length; /* of the whole mapping */
};

_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
               "atomics shared between processes must be lock-free");

static unsigned csam_slots_reclaim(struct csam_slots_head *h);

static size_t csam_slots_round(size_t n)
{
    return (n + CSAM_SLOTS_PAGE - 1) / CSAM_SLOTS_PAGE * CSAM_SLOTS_PAGE;
}

static size_t csam_slots_head_size(unsigned slots)
{
    return csam_slots_round(sizeof(struct csam_slots_head)
                            + (size_t)slots * sizeof(_Atomic int32_t));
}

/* The whole mapping's length, 0 when it would not fit in a size_t. */
static size_t csam_slots_length(unsigned slots, size_t bytes)
{
    size_t stride = csam_slots_round(bytes);

    if (stride == 0 || stride > (SIZE_MAX - CSAM_SLOTS_PAGE * 2) / slots)
        return 0;
    return csam_slots_head_size(slots) + stride * slots;
}

static void csam_slots_why(char *why, size_t len, const char *what,
                           const char *path, int err)
{
    if (why != NULL && len > 0)
        (void)snprintf(why, len, "%s %s: %s", what, path, strerror(err));
}

static int csam_slots_matches(const struct csam_slots_head *h, unsigned slots,
                              size_t bytes)
{
    return memcmp(h->magic, CSAM_SLOTS_MAGIC, sizeof(h->magic)) == 0
           && h->slots == slots && h->bytes == bytes;
}

static void csam_slots_init_head(struct csam_slots_head *h, unsigned slots,
                                 size_t bytes)
{
    unsigned i;

    h->slots = slots;
    h->bytes = bytes;
    atomic_init(&h->released, 0);
    atomic_init(&h->recent, 0);
    for (i = 0; i < slots; i++)
        atomic_init(&h->owner[i], 0);
    /* Written last: a table with its magic is complete. */
    memcpy(h->magic, CSAM_SLOTS_MAGIC, sizeof(h->magic));
}

/* Open path for the table, refusing what another user could read or
 * swap: a link, something other than a regular file, a file of another
 * owner or that others may write, a file outside memory (where every
 * run's blocks would reach a disk). */
static int csam_slots_open(const char *path, char *why, size_t why_len)
{
    const char *wrong = NULL;
    struct statfs fs;
    struct stat st;
    int fd, created = 0;

    fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        created = fd >= 0;
    }
    if (fd < 0) {
        csam_slots_why(why, why_len, "cannot open", path, errno);
        return -1;
    }
    if (fstat(fd, &st) != 0 || fstatfs(fd, &fs) != 0) {
        csam_slots_why(why, why_len, "cannot examine", path, errno);
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()
        || (st.st_mode & (S_IWGRP | S_IWOTH | S_IRGRP | S_IROTH)) != 0)
        wrong = "not a regular file of this user that only it may read "
                "and write";
    else if ((long)fs.f_type != CSAM_SLOTS_TMPFS
             && (long)fs.f_type != CSAM_SLOTS_RAMFS)
        wrong = "not on a memory file system (tmpfs, such as /run or "
                "/dev/shm)";
    if (wrong != NULL) {
        if (why != NULL && why_len > 0)
            (void)snprintf(why, why_len, "%s: %s", path, wrong);
        /* Nothing left behind where it was refused. */
        if (created)
            (void)unlink(path);
        close(fd);
        return -1;
    }
    return fd;
}

/* Map the table of path under an exclusive lock on the file, so that
 * two servers starting together agree: the table already there when it
 * has these dimensions, else a new one (replacing a file of others). */
static csam_result csam_slots_map_file(const char *path, unsigned slots,
                                       size_t bytes, size_t length, void **base,
                                       int *replaced, char *why, size_t why_len)
{
    int attempt;

    for (attempt = 0; attempt < 3; attempt++) {
        struct stat st;
        void *m;
        int fd = csam_slots_open(path, why, why_len);

        if (fd < 0)
            return CSAM_ERR_INVALID;
        if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0) {
            csam_slots_why(why, why_len, "cannot lock", path, errno);
            close(fd);
            return CSAM_ERR_INVALID;
        }
        if (st.st_size == 0 && ftruncate(fd, (off_t)length) != 0) {
            csam_slots_why(why, why_len, "cannot size", path, errno);
            close(fd);
            return CSAM_ERR_INVALID;
        }
        if (st.st_size == 0 || (uintmax_t)st.st_size == (uintmax_t)length) {
            m = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (m == MAP_FAILED) {
                csam_slots_why(why, why_len, "cannot map", path, errno);
                close(fd);
                return CSAM_ERR_NOMEM;
            }
            if (st.st_size == 0 || csam_slots_matches(m, slots, bytes)) {
                if (st.st_size == 0)
                    csam_slots_init_head(m, slots, bytes);
                /* The mapping holds the open file, and so its lock: let
                 * go of it by name. */
                (void)flock(fd, LOCK_UN);
                close(fd);
                *base = m;
                return CSAM_OK;
            }
            munmap(m, length);
        }
        /* Other dimensions: a new file in its place, so that the servers
         * still on the old one go on undisturbed. */
        if (unlink(path) != 0) {
            csam_slots_why(why, why_len, "cannot replace", path, errno);
            close(fd);
            return CSAM_ERR_INVALID;
        }
        close(fd);
        *replaced = 1;
    }
    if (why != NULL && why_len > 0)
        (void)snprintf(why, why_len,
                       "%s: replaced by another server as soon "
                       "as made",
                       path);
    return CSAM_ERR_INVALID;
}

csam_result csam_argon2_slots_map(const char *path, unsigned slots,
                                  size_t bytes, struct csam_argon2_slots **out,
                                  int *replaced, char *why, size_t why_len)
{
    struct csam_argon2_slots *t;
    size_t length;
    void *base = NULL;
    csam_result res;

    *out = NULL;
    *replaced = 0;
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    length = slots == 0 || slots > CSAM_ARGON2_SLOTS_MAX || bytes == 0
                 ? 0
                 : csam_slots_length(slots, bytes);
    if (length == 0) {
        if (why != NULL && why_len > 0)
            (void)snprintf(why, why_len,
                           "%u slots of %zu bytes: out of range (1 to %u "
                           "slots)",
                           slots, bytes, (unsigned)CSAM_ARGON2_SLOTS_MAX);
        return CSAM_ERR_INVALID;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        if (why != NULL && why_len > 0)
            (void)snprintf(why, why_len, "out of memory");
        return CSAM_ERR_NOMEM;
    }
    if (path == NULL) {
        /* Pages come when a run first touches them. */
        base = mmap(NULL, length, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED) {
            csam_slots_why(why, why_len, "cannot map", "shared memory", errno);
            free(t);
            return CSAM_ERR_NOMEM;
        }
        csam_slots_init_head(base, slots, bytes);
    } else {
        res = csam_slots_map_file(path, slots, bytes, length, &base, replaced,
                                  why, why_len);
        if (res != CSAM_OK) {
            free(t);
            return res;
        }
    }
    t->head = base;
    /* A table left by a server that stopped may name its processes. */
    (void)csam_slots_reclaim(t->head);
    t->buffers = (unsigned char *)base + csam_slots_head_size(slots);
    t->stride = csam_slots_round(bytes);
    t->length = length;
    *out = t;
    return CSAM_OK;
}

void csam_argon2_slots_unmap(struct csam_argon2_slots *table)
{
    if (table == NULL)
        return;
    munmap(table->head, table->length);
    free(table);
}

unsigned csam_argon2_slots_count(const struct csam_argon2_slots *table)
{
    return table->head->slots;
}

/* ------------------------------------------------------------ waiting */

/* Sleep while *word is seen, at most ms: 1 when the time ran out. */
static int csam_slots_sleep(_Atomic uint32_t *word, uint32_t seen, unsigned ms)
{
#if defined(__linux__) && defined(SYS_futex)
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    /* Returns at once when the word moved since seen: no wake-up is lost
     * between the look and the sleep.  A lock-free atomic has the layout
     * of its plain type, which the kernel reads. */
    return syscall(SYS_futex, (uint32_t *)(void *)word, FUTEX_WAIT, seen, &ts,
                   NULL, 0)
               != 0
           && errno == ETIMEDOUT;
#else
    struct timespec ts = {0, 1000000L};

    (void)ms;
    if (atomic_load(word) == seen)
        (void)nanosleep(&ts, NULL);
    return atomic_load(word) == seen;
#endif
}

/* Wake one sleeper on *word: 1 if there was one. */
static int csam_slots_wake(_Atomic uint32_t *word)
{
#if defined(__linux__) && defined(SYS_futex)
    return syscall(SYS_futex, (uint32_t *)(void *)word, FUTEX_WAKE, 1, NULL,
                   NULL, 0)
           > 0;
#else
    (void)word;
    return 0;
#endif
}

static uint64_t csam_slots_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U;
}

/* A slot given back while a waiter sleeps: that waiter's, not a newcomer's. */
#define CSAM_SLOTS_HANDED (-1)

/* Let slot i go from its holder `from`: handed to the waiter that sleeps
 * longest, or free when none sleeps (the kernel's count of the woken
 * says which, and it never counts a process that died waiting).  0 when
 * the slot was not from's. */
static int csam_slots_let_go(struct csam_slots_head *h, unsigned i,
                             int32_t from)
{
    int32_t was = from;

    if (!atomic_compare_exchange_strong(&h->owner[i], &was, CSAM_SLOTS_HANDED))
        return 0;
    atomic_fetch_add(&h->released, 1);
    if (!csam_slots_wake(&h->released)) {
        was = CSAM_SLOTS_HANDED;
        (void)atomic_compare_exchange_strong(&h->owner[i], &was, 0);
    }
    return 1;
}

/* Take slot i if it is free, or handed on and handed_ok (a caller that
 * has slept in the queue). */
static int csam_slots_claim_one(struct csam_slots_head *h, unsigned i,
                                int32_t me, int handed_ok)
{
    int32_t was = atomic_load(&h->owner[i]);

    return (was == 0 || (handed_ok && was == CSAM_SLOTS_HANDED))
           && atomic_compare_exchange_strong(&h->owner[i], &was, me);
}

/* A slot taken for me, the most recently left first; -1 if none. */
static int csam_slots_claim(struct csam_slots_head *h, int32_t me,
                            int handed_ok)
{
    unsigned recent = atomic_load(&h->recent), i;

    if (recent < h->slots && csam_slots_claim_one(h, recent, me, handed_ok))
        return (int)recent;
    for (i = 0; i < h->slots; i++)
        if (csam_slots_claim_one(h, i, me, handed_ok))
            return (int)i;
    return -1;
}

/* Let go the slots of holders that no longer exist; how many. */
static unsigned csam_slots_reclaim(struct csam_slots_head *h)
{
    unsigned i, freed = 0;

    for (i = 0; i < h->slots; i++) {
        int32_t pid = atomic_load(&h->owner[i]);

        if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
            freed += (unsigned)csam_slots_let_go(h, i, pid);
    }
    return freed;
}

static unsigned csam_slots_busy(struct csam_slots_head *h)
{
    unsigned i, n = 0;

    for (i = 0; i < h->slots; i++)
        n += atomic_load(&h->owner[i]) > 0;
    return n;
}

/*
 * Fairness: waiters sleep on the futex, which wakes them in the order
 * they slept, one per slot given back, and a slot given back while one
 * sleeps is handed to it: a caller that has not waited in the queue takes
 * only a free slot.  Otherwise, under load, callers that came later
 * would take the slots the woken reach for, and some would wait again
 * and again until they gave up.
 */
int csam_argon2_slots_enter(struct csam_argon2_slots *table, unsigned wait_ms,
                            unsigned *busy, int *waited)
{
    struct csam_slots_head *h = table->head;
    uint64_t deadline = csam_slots_now_ms() + wait_ms;
    int32_t me = (int32_t)getpid();
    /* Read before the first look: a slot given back after it wakes the
     * sleep below at once. */
    uint32_t seen = atomic_load(&h->released);
    int slot;

    *waited = 0;
    slot = csam_slots_claim(h, me, 0);
    while (slot < 0) {
        uint64_t now = csam_slots_now_ms();

        if (now >= deadline) {
            /* Holders that died leave their slots to the last look. */
            (void)csam_slots_reclaim(h);
            slot = csam_slots_claim(h, me, 1);
            if (slot < 0)
                return -1;
            break;
        }
        *waited = 1;
        if (csam_slots_sleep(&h->released, seen,
                             deadline - now < CSAM_SLOTS_RECHECK_MS
                                 ? (unsigned)(deadline - now)
                                 : CSAM_SLOTS_RECHECK_MS))
            (void)csam_slots_reclaim(h);
        seen = atomic_load(&h->released);
        slot = csam_slots_claim(h, me, 1);
    }
    *busy = csam_slots_busy(h);
    csam_argon2_lend(table->buffers + (size_t)slot * table->stride,
                     (size_t)h->bytes);
    return slot;
}

void csam_argon2_slots_leave(struct csam_argon2_slots *table, int slot)
{
    struct csam_slots_head *h = table->head;

    csam_argon2_lend(NULL, 0);
    if (slot < 0 || (unsigned)slot >= h->slots)
        return;
    atomic_store(&h->recent, (uint32_t)slot);
    (void)csam_slots_let_go(h, (unsigned)slot, (int32_t)getpid());
}
