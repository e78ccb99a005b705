/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slots for Argon2id runs, shared by the processes of a server.
 *
 * A server that bounds its concurrent password checks per process lets
 * processes x bound of them run at once, each in memory of its own: a
 * machine of two cores running two children of four checks each has
 * eight 19 MiB runs taking turns, and each run comes back to memory the
 * others have pushed out of the caches.  Measured by tests/bench/storm.sh
 * (two httpd nodes on one core): logins at 0.79 of the Argon2id ceiling
 * with a bound and a buffer per process, 0.81 (0.79-0.83 in five runs)
 * with one table of slots for both; one node, 0.80 then 0.84.
 *
 * A table holds N slots, each an Argon2id buffer, in memory shared by
 * every process that maps it: anonymous memory a parent maps before it
 * forks its workers, or a file of a memory file system that several
 * servers on one machine name.  A run takes a free slot (the one left
 * last first: its memory is the warmest), waits for one at most a given
 * time, and runs in that slot's buffer.  A process that dies holding a
 * slot gives it back: a waiter finds the holder gone within 500 ms.
 */
#ifndef CSAM_COMMON_ARGON2_SLOTS_H
#define CSAM_COMMON_ARGON2_SLOTS_H

#include <stddef.h>

#include "result.h"

/* Slots in one table, at most. */
#define CSAM_ARGON2_SLOTS_MAX 1024

struct csam_argon2_slots;

/* Map a table of slots slots of bytes each: anonymous memory when path
 * is NULL, else the file path, which must be on a memory file system
 * (tmpfs), a regular file owned by this user and no one else's to write.
 * A file of other dimensions (another server's slots or bytes, an older
 * layout) is replaced by a new one at the same path; *replaced then says
 * so (the servers still on the old one keep it until they restart).
 * CSAM_ERR_INVALID for dimensions out of range or a bad path or file,
 * CSAM_ERR_NOMEM when the memory cannot be had; why says which. */
csam_result csam_argon2_slots_map(const char *path, unsigned slots,
                                  size_t bytes, struct csam_argon2_slots **out,
                                  int *replaced, char *why, size_t why_len);

/* Unmap this process's view (the table lives on in the others'). */
void csam_argon2_slots_unmap(struct csam_argon2_slots *table);

/* Take a slot, waiting at most wait_ms for one: its index, its buffer
 * lent to this thread's Argon2id runs (csam_argon2_lend), and in *busy
 * how many slots are taken with it; -1 when none came free in time.
 * *waited says whether it had to wait. */
int csam_argon2_slots_enter(struct csam_argon2_slots *table, unsigned wait_ms,
                            unsigned *busy, int *waited);

/* Give back a slot this thread took, ending the loan of its buffer. */
void csam_argon2_slots_leave(struct csam_argon2_slots *table, int slot);

/* The table's dimensions. */
unsigned csam_argon2_slots_count(const struct csam_argon2_slots *table);

#endif
