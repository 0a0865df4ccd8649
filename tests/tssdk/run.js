#!/usr/bin/env node
// Drives a Temporal-compatible server with the official TypeScript SDK and
// prints ONE line of JSON with what it saw on stdout (SDK logs go to stderr).
//
//   node run.js [--address HOST:PORT] [--namespace NS] [--task-queue TQ] [--steps a,b]
//
// Flags fall back to SUNDIAL_ADDRESS, SUNDIAL_NAMESPACE, SUNDIAL_TASK_QUEUE and
// SUNDIAL_TSSDK_STEPS (default: every step). Steps run one after another and
// each records its own result, so one failing step does not hide the others.
// Exit code: 0 all steps passed their own checks, 1 some step failed, 2 the
// program could not set up (connect, worker), 3 it stopped itself at the
// overall deadline.
'use strict';

const { Connection, Client } = require('@temporalio/client');
const { Worker, NativeConnection, Runtime, DefaultLogger, makeTelemetryFilterString } = require('@temporalio/worker');
const { steps: stepTable, eventTypes } = require('./steps');

/** Whole-program bound: the Go test allows ~3 minutes. */
const PROGRAM_DEADLINE_MS = 120_000;

function parseArgs(argv) {
  const opts = {
    address: process.env.SUNDIAL_ADDRESS || '127.0.0.1:7233',
    namespace: process.env.SUNDIAL_NAMESPACE || 'default',
    taskQueue: process.env.SUNDIAL_TASK_QUEUE || `tssdk-${process.pid}-${Date.now()}`,
    steps: process.env.SUNDIAL_TSSDK_STEPS || Object.keys(stepTable).join(','),
  };
  const flags = { '--address': 'address', '--namespace': 'namespace', '--task-queue': 'taskQueue', '--steps': 'steps' };
  for (let i = 0; i < argv.length; i++) {
    const key = flags[argv[i]];
    if (!key || i + 1 >= argv.length) throw new Error(`usage: node run.js [--address A] [--namespace N] [--task-queue Q] [--steps ${Object.keys(stepTable).join(',')}]; bad argument ${argv[i]}`);
    opts[key] = argv[++i];
  }
  opts.steps = opts.steps.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of opts.steps) {
    if (!stepTable[s]) throw new Error(`unknown step ${s}; steps: ${Object.keys(stepTable).join(', ')}`);
  }
  return opts;
}

const output = { ok: false, steps: {} };
let printed = false;

/** print writes the result line once and exits with code. */
function finish(code) {
  if (!printed) {
    printed = true;
    process.stdout.write(JSON.stringify(output) + '\n');
  }
  process.exitCode = code;
  // The worker's native threads may keep the process alive after a failure.
  setTimeout(() => process.exit(code), 2000).unref();
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  Object.assign(output, { address: opts.address, namespace: opts.namespace, taskQueue: opts.taskQueue });
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      process.stderr.write(`[${entry.level}] ${entry.message} ${safeJSON(entry.meta).slice(0, 400)}\n`);
    }),
    // Native (core) logs are forwarded to the logger above; by default they
    // go to stdout, which carries only the result line.
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });

  let client;
  let worker;
  try {
    const connection = await Connection.connect({ address: opts.address, connectTimeout: '20 seconds' });
    client = new Client({ connection, namespace: opts.namespace });
    const nativeConnection = await NativeConnection.connect({ address: opts.address });
    worker = await Worker.create({
      connection: nativeConnection,
      namespace: opts.namespace,
      taskQueue: opts.taskQueue,
      workflowsPath: require.resolve('./workflows'),
      activities: require('./activities'),
      shutdownGraceTime: '2 seconds',
    });
  } catch (err) {
    output.setupError = describeError(err);
    finish(2);
    return;
  }

  const ctx = { client, taskQueue: opts.taskQueue, namespace: opts.namespace, prefix: `tssdk-${Date.now()}-${process.pid}` };
  await worker.runUntil(async () => {
    for (const name of opts.steps) {
      const result = { ok: false };
      output.steps[name] = result;
      ctx.watched = null;
      try {
        await stepTable[name](ctx, result);
        result.problems = result.problems || [];
        result.ok = result.problems.length === 0;
      } catch (err) {
        result.error = describeError(err);
        // Show how far the step's workflow got.
        if (ctx.watched && !result.history) {
          result.history = await eventTypes(ctx.watched).catch((e) => [`history unavailable: ${e.message}`]);
        }
      }
    }
  });
  output.ok = Object.values(output.steps).every((s) => s.ok);
  finish(output.ok ? 0 : 1);
}

/** describeError flattens an SDK error and its causes into JSON-able data. */
function describeError(err) {
  const out = [];
  for (let e = err; e && out.length < 5; e = e.cause) {
    out.push({ name: e.name || e.constructor?.name, type: e.type, message: e.message, code: e.code });
  }
  return out;
}

function safeJSON(v) {
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return String(v);
  }
}

process.on('unhandledRejection', (err) => {
  process.stderr.write(`unhandled rejection: ${err && err.stack ? err.stack : err}\n`);
});

setTimeout(() => {
  output.timedOut = true;
  finish(3);
}, PROGRAM_DEADLINE_MS).unref();

main().catch((err) => {
  output.error = describeError(err);
  finish(2);
});
