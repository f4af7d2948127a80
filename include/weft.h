/*
 * weft.h - every weft module in one include.
 *
 * weft gives C programs the concurrency toolkit Python programmers learn first:
 * threading, queue, concurrent.futures, multiprocessing and coroutines, with C's
 * speed and real parallelism. Link with -lweft (pkg-config weft).
 */
#ifndef WEFT_H
#define WEFT_H

#include "weft/common.h"
#include "weft/executor.h"
#include "weft/ipc.h"
#include "weft/process.h"
#include "weft/queue.h"
#include "weft/shared.h"
#include "weft/sync.h"
#include "weft/thread.h"

#endif
