/*
 * connector_int.h - what the files of one connector share (connector.c,
 * connector_commit.c, connector_stages.c, connector_rebalance.c,
 * connector_stop.c, connector_status.c): the connector's struct and a
 * record's job. Private to those files; every stage (decode_stage.h,
 * dedup_gate.h, batch.h, outcome.h, channel.h) and the partitions' table
 * (partitions.h, commit.h) is reached through its functions.
 * Loop thread, like all of the connector.
 */
#ifndef HERALD_CONNECTOR_INT_H
#define HERALD_CONNECTOR_INT_H

#include "connector.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "api.h"
#include "batch.h"
#include "channel.h"
#include "connector_config.h"
#include "decode.h"
#include "dedup.h"
#include "dedup_gate.h"
#include "kafka.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "offsets.h"
#include "partitions.h"
#include "commit.h"
#include "outcome.h"
#include "record.h"
#include "registry.h"
#include "stage_log.h"

/* Room for a human-readable error from a setup call. */
#define ERR_MAX 512

/* How often the marks being read back are polled (loop ms). */
#define MARKS_POLL_MS 20
/* Records taken off the consumer per loop turn before yielding. */
#define PUMP_MAX_PER_TURN 5000
/* Dedup marks taken per loop turn. */
#define MARKS_MAX_PER_TURN 2000
/* A revoke or stop checks its drain this often. */
#define DRAIN_CHECK_MS 20
/* Backpressure pauses after a quarter of max.poll.interval.ms, at most
 * this long. */
#define PRESSURE_GRACE_MAX_MS 2000
/* After the consumer closed, writes still in flight (dead letters, marks)
 * get this long to be acknowledged. */
#define FLUSH_TIMEOUT_MS 5000
/* A closing consumer that does not finish is given up after this. */
#define CLOSE_TIMEOUT_MS 10000
/* Room for a reason with its prefix, and for a component's name. */
#define WHY_MAX 1024
#define CLASS_MAX 128

/* One record's life: each stage keeps its own state in its item. */
struct job {
    struct herald__connector *c;
    struct job *next_free; /* in the connector's pool of free jobs */
    struct herald__part *part;
    struct herald_record *rec;
    struct herald__rendered *msg;
    struct herald__held held; /* waiting for a schema, in order */
    struct herald__batch_item b;
    struct herald__outcome_item o;
    struct herald__channel_item ch;
    struct herald__gate_item g;
};

#define JOB_OF(ptr, member)                                                    \
    ((struct job *)(void *)((char *)(ptr)-offsetof(struct job, member)))

struct herald__connector {
    const struct herald__connector_env *env;
    struct herald__connector_config cfg; /* every setting, parsed */

    /* the stages */
    struct herald__decoder *decoder;
    struct herald__notify *notify;
    struct herald__dedup *dedup;
    struct herald__gate *gate;
    struct herald__batcher *batcher;
    struct herald__outcome *outcome;
    struct herald__channel *channel;
    struct herald_instance *inst;
    struct herald__kafka_producer *producer; /* dead letters, dedup marks */
    struct herald__timer *marks_timer;       /* reads dedup marks back */

    /* kafka */
    struct herald__kafka *k; /* the consumer; NULL before start, after stop */
    int starting;            /* the dedup marks topic is being prepared */
    struct herald__timer *more_timer;
    struct herald__timer *commit_timer;
    struct herald__timer *drain_timer;
    struct herald__parts *parts;

    /* revoke in progress (topics owned) */
    struct herald__tp *revoking;
    size_t n_revoking;
    int revoke_lost;
    uint64_t revoke_deadline;

    /* stop */
    int stopping;
    int stopped;  /* drained: the consumer is closing or closed */
    int finished; /* on_stopped was called */
    int at_once;  /* a second stop: nothing more is waited for */
    int failed;
    uint64_t stop_deadline;
    uint64_t flush_deadline; /* waiting for the producer's last writes */

    struct herald__connector_stats stats;
    int64_t finals;
    /* Jobs ended, kept for the next records (at most JOB_POOL_MAX): no
     * malloc per record in steady state. */
    struct job *free_jobs;
    size_t n_free_jobs;
    /* backpressure: no more records are taken from the consumer while
     * busy() is at max_in_flight; only when that lasts longer than
     * pressure_grace_ms are the partitions paused, to keep polling. */
    uint64_t throttled_since; /* loop ms, 0: not throttled */
    int paused_for_pressure;
    uint64_t pressure_grace_ms;
};

/* ---- connector.c: a job's life ---- */

/* Free j and what it owns (its record, its message), leaving its offset
 * in doubt; tells no one. */
void herald__connector_job_destroy(struct job *j);
/* Let j go in doubt (stop, revoke): it comes again from the last commit. */
void herald__connector_job_drop(struct job *j);
/* j's outcome is final: its offset may be committed. Frees j. */
void herald__connector_job_final(struct job *j);
/* One of the connector's own writes to Kafka for j (a dead letter, a
 * dedup mark) was acknowledged: j is final. */
void herald__connector_job_written(struct job *j);
/* The flags of outcome.h for j. */
int herald__connector_job_state(const struct job *j);
/* Hand j to the outcome policy as a REJECT (outcome.h's arguments). */
void herald__connector_reject(struct herald__connector *c, struct job *j,
                              const char *stage, const char *cls,
                              const char *exc, const char *reason);
/* Carry j on after the dedup gate's verdict v. */
void herald__connector_after_gate(struct herald__connector *c, struct job *j,
                                  enum herald__gate_verdict v);

/* ---- connector_commit.c: backpressure and commits ---- */

/* After outcomes: once the records in flight fell to half of
 * max_in_flight, take records again. */
void herald__connector_pressure_update(struct herald__connector *c);
/* Commit what is final for the partitions in only (NULL: all owned);
 * nothing in tail mode. sync on revoke and stop. */
void herald__connector_commit(struct herald__connector *c,
                              const struct herald__tp *only, size_t n_only,
                              int sync);
/* The pump asks before each record: 1 leaves the consumer alone for now
 * (too many records in flight, for less than the grace), else 0 (the
 * partitions may have been paused for pressure meanwhile). */
int herald__connector_pressure_wait(struct herald__connector *c);
/* kafka.h's commit_failed callback. */
void herald__connector_on_commit_failed(void *ctx, const struct herald__tp *l,
                                        size_t n);
/* The commit timer: commits what is final, asynchronously. */
void herald__connector_on_commit_timer(void *ctx);

/* ---- connector_stages.c: the stages wired to the job's life ---- */

/* Build the stages after decode. 0, or -1 when out of memory. */
int herald__connector_new_stages(struct herald__connector *c);

/* ---- connector_rebalance.c: assignment, revoke drain, dedup marks ---- */

/* The kafka.h callbacks for partitions assigned and revoked. */
void herald__connector_on_assigned(void *ctx, const struct herald__tp *parts,
                                   size_t n);
void herald__connector_on_revoked(void *ctx, const struct herald__tp *parts,
                                  size_t n, int lost);
/* Records of the assigned partitions in l not final yet, less those held
 * for an unavailable channel. */
size_t herald__connector_pending_in(struct herald__connector *c,
                                    const struct herald__tp *l, size_t n_l);
/* Give up the partitions being revoked, committing what is final first
 * (not when lost). */
void herald__connector_finish_revoke(struct herald__connector *c);
/* The revoke's drain check: finishes it once drained or timed out. */
void herald__connector_on_drain_timer(void *ctx);
/* The marks timer: reads dedup marks back, resumes partitions whose
 * marks are in memory. */
void herald__connector_on_marks_timer(void *ctx);
/* A batcher drop callback (batch.h): frees the job of it. */
void herald__connector_drop_batched(void *ctx, struct herald__batch_item *it);
/* Free the records p holds for a schema: they stay in doubt. */
void herald__connector_drop_held(struct herald__part *p);

/* ---- connector_stop.c: the stop sequence ---- */

/* A job went: finish a revoke or a stop that waited for it. */
void herald__connector_check_drain(struct herald__connector *c);
/* Stop c on an error (on_stopped says failed). */
void herald__connector_fail(struct herald__connector *c);
/* kafka.h's closed callback. */
void herald__connector_on_closed(void *ctx);
/* The drain timer of revokes and stops. */
void herald__connector_on_stop_timer(void *ctx);
/* Drop every record not handed to the plugin (held, batched, timed). */
void herald__connector_drop_waiting(struct herald__connector *c);

#endif
