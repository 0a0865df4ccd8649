// The steps run.js can run. Each fills a result object with what it saw and
// appends to result.problems every way that differs from the reference
// server; it throws only when it cannot go on.
'use strict';

const { WorkflowUpdateFailedError } = require('@temporalio/client');
const { temporal } = require('@temporalio/proto');

const EventType = temporal.api.enums.v1.EventType;
const IndexedValueType = temporal.api.enums.v1.IndexedValueType;

/** Bound on any single wait for the server or the worker. */
const WAIT_MS = 30_000;

/** Custom search attributes used by the attrs step, one per type. */
const SEARCH_ATTRIBUTES = {
  CustomIntField: { type: 'INDEXED_VALUE_TYPE_INT', values: [42] },
  CustomDoubleField: { type: 'INDEXED_VALUE_TYPE_DOUBLE', values: [3.5] },
  CustomBoolField: { type: 'INDEXED_VALUE_TYPE_BOOL', values: [true] },
  CustomDatetimeField: { type: 'INDEXED_VALUE_TYPE_DATETIME', values: ['2026-01-02T03:04:05.000Z'] },
  CustomTextField: { type: 'INDEXED_VALUE_TYPE_TEXT', values: ['hello text'] },
  CustomKeywordField: { type: 'INDEXED_VALUE_TYPE_KEYWORD', values: ['kw-1'] },
  CustomKeywordListField: { type: 'INDEXED_VALUE_TYPE_KEYWORD_LIST', values: ['kl-a', 'kl-b'] },
};

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** withTimeout rejects if promise has not settled within ms. */
async function withTimeout(promise, ms, what) {
  // A promise left behind by a timeout must not crash the process later.
  promise.catch(() => {});
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** eventTypes returns the history's event types as enum names (EVENT_TYPE_...). */
async function eventTypes(handle) {
  const history = await handle.fetchHistory();
  return history.events.map((e) => EventType[e.eventType] ?? String(e.eventType));
}

/**
 * waitQuiet waits until the workflow's "state" query satisfies ready and its
 * history shows no workflow task in progress, so the next signal or update
 * lands at a known point in the history. Returns the last query result.
 */
async function waitQuiet(handle, what, ready) {
  const deadline = Date.now() + WAIT_MS;
  let last;
  for (;;) {
    try {
      last = await handle.query('state');
      const types = await eventTypes(handle);
      if (ready(last, types)) {
        const tail = types[types.length - 1];
        if (tail !== 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED' && tail !== 'EVENT_TYPE_WORKFLOW_TASK_STARTED') return last;
      }
    } catch (err) {
      last = { queryError: err.message };
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last state ${JSON.stringify(last)}`);
    await sleep(100);
  }
}

function stageIs(stage) {
  return (state) => state && state.stage === stage;
}

function expectEqual(result, what, got, want) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) result.problems.push(`${what}: got ${g}, want ${w}`);
}

/**
 * main: a workflow with two activities (one with only a start-to-close
 * timeout), a timer, a signal, a query, an update, a child and one
 * continue-as-new. Records the result, the query and update results and the
 * event types of both runs.
 */
async function mainStep(ctx, result) {
  result.problems = [];
  const workflowId = `${ctx.prefix}-main`;
  const handle = await ctx.client.workflow.start('tsMain', {
    taskQueue: ctx.taskQueue,
    workflowId,
    args: [{ iteration: 0, name: 'sundial', childId: `${workflowId}-child` }],
  });
  result.firstRunId = handle.firstExecutionRunId;
  const first = ctx.client.workflow.getHandle(workflowId, handle.firstExecutionRunId);
  ctx.watched = first;

  await waitQuiet(first, 'the workflow to wait for the signal', stageIs('waiting-signal'));
  await first.signal('proceed', 'go');

  await waitQuiet(first, 'the child to start', stageIs('child-started'));
  const child = ctx.client.workflow.getHandle(`${workflowId}-child`);
  await waitQuiet(child, 'the child to wait for release', stageIs('waiting-release'));
  await child.signal('release');

  result.query = await waitQuiet(first, 'the workflow to wait for the update', stageIs('waiting-update'));
  result.update = await withTimeout(first.executeUpdate('setGreeting', { args: ['hola'], updateId: `${workflowId}-update` }), WAIT_MS, 'the update');
  result.result = await withTimeout(handle.result(), WAIT_MS, 'the workflow result');

  result.history = await eventTypes(first);
  const events = (await first.fetchHistory()).events;
  const can = events[events.length - 1].workflowExecutionContinuedAsNewEventAttributes;
  if (!can) throw new Error(`first run did not continue as new: ${JSON.stringify(result.history)}`);
  result.continuedRunId = can.newExecutionRunId;
  result.continuedHistory = await eventTypes(ctx.client.workflow.getHandle(workflowId, can.newExecutionRunId));
  result.childResult = await child.result();

  expectEqual(result, 'update result', result.update, 'greeting set to hola');
  expectEqual(result, 'workflow result', result.result, {
    activities: ['hello sundial', 'HELLO SUNDIAL'],
    signal: 'go',
    child: 'child of sundial',
    greeting: 'hola',
    iteration: 1,
  });
}

/** ensureSearchAttributes registers the custom attributes the attrs step needs. */
async function ensureSearchAttributes(ctx) {
  const ops = ctx.client.connection.operatorService;
  const list = async () => (await ops.listSearchAttributes({ namespace: ctx.namespace })).customAttributes ?? {};
  const have = await list();
  const missing = {};
  for (const [name, { type }] of Object.entries(SEARCH_ATTRIBUTES)) {
    if (have[name] === undefined) missing[name] = IndexedValueType[type];
  }
  if (Object.keys(missing).length === 0) return;
  try {
    await ops.addSearchAttributes({ namespace: ctx.namespace, searchAttributes: missing });
  } catch (err) {
    // Another client may have added them meanwhile; the listing below decides.
    process.stderr.write(`addSearchAttributes: ${err.message}\n`);
  }
  const deadline = Date.now() + WAIT_MS;
  while (!Object.keys(missing).every((n) => n in have)) {
    if (Date.now() > deadline) throw new Error(`search attributes not listed after adding: ${Object.keys(missing)}`);
    await sleep(100);
    Object.assign(have, await list());
  }
}

/** describeValue says what JavaScript type a decoded attribute value has. */
function describeValue(v) {
  if (v instanceof Date) return { jsType: 'Date', value: v.toISOString() };
  if (Array.isArray(v)) return { jsType: 'Array', value: v.map((x) => describeValue(x)) };
  return { jsType: typeof v, value: v };
}

/** listForm is SEARCH_ATTRIBUTES as the SDK's SearchAttributes record: name -> [values]. */
function listForm() {
  return Object.fromEntries(Object.entries(SEARCH_ATTRIBUTES).map(([n, { values }]) => [n, values]));
}

/**
 * recordSearchAttributes stores in result what describe() decoded for
 * SEARCH_ATTRIBUTES, through the deprecated (list) and the typed accessor,
 * and notes every value that differs from what was set.
 */
function recordSearchAttributes(d, result) {
  result.searchAttributes = {};
  for (const name of Object.keys(SEARCH_ATTRIBUTES)) {
    result.searchAttributes[name] = describeValue(d.searchAttributes[name]);
  }
  result.typedSearchAttributes = {};
  for (const pair of d.typedSearchAttributes.getAll()) {
    if (SEARCH_ATTRIBUTES[pair.key.name]) {
      result.typedSearchAttributes[pair.key.name] = { type: pair.key.type, ...describeValue(pair.value) };
    }
  }
  const dt = d.typedSearchAttributes.get({ name: 'CustomDatetimeField', type: 'DATETIME' });
  if (!(dt instanceof Date)) result.problems.push(`typed CustomDatetimeField is ${typeof dt} ${JSON.stringify(dt)}, want a Date`);
  if (!(d.searchAttributes.CustomDatetimeField?.[0] instanceof Date)) {
    result.problems.push(`CustomDatetimeField is ${JSON.stringify(d.searchAttributes.CustomDatetimeField)}, want [Date]`);
  }
  for (const [name, { values }] of Object.entries(SEARCH_ATTRIBUTES)) {
    const got = (d.searchAttributes[name] ?? []).map((v) => (v instanceof Date ? v.toISOString() : v));
    expectEqual(result, `searchAttributes.${name}`, got, values);
  }
  expectEqual(result, 'typed search attribute names', Object.keys(result.typedSearchAttributes).sort(), Object.keys(SEARCH_ATTRIBUTES).sort());
}

/**
 * attrs: upserts search attributes of every type in list form, deletes one
 * memo key and adds another, and reads both back with describe.
 */
async function attrsStep(ctx, result) {
  result.problems = [];
  await ensureSearchAttributes(ctx);
  const handle = await ctx.client.workflow.start('tsAttrs', {
    taskQueue: ctx.taskQueue,
    workflowId: `${ctx.prefix}-attrs`,
    memo: { keep: 'kept', drop: 'dropped' },
    args: [{ searchAttributes: listForm(), datetimeNames: ['CustomDatetimeField'], memoUpsert: { drop: null, added: 'new' } }],
  });
  ctx.watched = handle;
  await waitQuiet(handle, 'the upserts', (state, types) => state.stage === 'upserted' && types.includes('EVENT_TYPE_WORKFLOW_TASK_COMPLETED'));
  const d = await handle.describe();
  recordSearchAttributes(d, result);
  result.memo = d.memo ?? {};
  // Keys as the server sent them: a key left with a null payload decodes to
  // undefined, which JSON would hide.
  result.memoKeys = Object.keys(d.raw.workflowExecutionInfo?.memo?.fields ?? {}).sort();

  await handle.signal('finish');
  result.result = await withTimeout(handle.result(), WAIT_MS, 'the attrs workflow result');
  result.history = await eventTypes(handle);
  expectEqual(result, 'memo keys', result.memoKeys, ['added', 'keep']);
  expectEqual(result, 'memo values', [result.memo.added, result.memo.keep], ['new', 'kept']);
}

/**
 * startAttrs: search attributes of every type in list form (the SDK's
 * searchAttributes start option) are accepted at start and read back typed.
 */
async function startAttrsStep(ctx, result) {
  result.problems = [];
  await ensureSearchAttributes(ctx);
  const handle = await ctx.client.workflow.start('tsHold', {
    taskQueue: ctx.taskQueue,
    workflowId: `${ctx.prefix}-start-attrs`,
    searchAttributes: listForm(),
  });
  ctx.watched = handle;
  await waitQuiet(handle, 'the first workflow task', stageIs('holding'));
  recordSearchAttributes(await handle.describe(), result);
  await handle.signal('finish');
  result.result = await withTimeout(handle.result(), WAIT_MS, 'the workflow result');
  result.history = await eventTypes(handle);
}

/**
 * updateAfterClose: an accepted update whose handler is still running when
 * the run completes must fail for its caller with the reference server's
 * AcceptedUpdateCompletedWorkflow failure.
 */
async function updateAfterCloseStep(ctx, result) {
  result.problems = [];
  const handle = await ctx.client.workflow.start('tsUpdateOutlives', {
    taskQueue: ctx.taskQueue,
    workflowId: `${ctx.prefix}-update-outlives`,
  });
  ctx.watched = handle;
  await waitQuiet(handle, 'the workflow to wait', stageIs('waiting-finish'));
  const update = handle.executeUpdate('slow', { updateId: 'slow-1' }).then(
    (value) => ({ value }),
    (err) => ({ err }),
  );
  await waitQuiet(handle, 'the update to be accepted', (state, types) => state.accepted === 1 && types.includes('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED'));
  await handle.signal('finish');
  result.result = await withTimeout(handle.result(), WAIT_MS, 'the workflow result');
  const outcome = await withTimeout(update, WAIT_MS, 'the update caller');
  result.history = await eventTypes(handle);
  if (!outcome.err) {
    result.problems.push(`update returned ${JSON.stringify(outcome.value)}, want a failure`);
    return;
  }
  const err = outcome.err;
  result.updateError = { name: err.name, message: err.message, causeName: err.cause?.name, causeType: err.cause?.type, causeMessage: err.cause?.message, causeNonRetryable: err.cause?.nonRetryable };
  if (!(err instanceof WorkflowUpdateFailedError)) result.problems.push(`update error is ${err.name}: ${err.message}, want WorkflowUpdateFailedError`);
  expectEqual(result, 'update failure type', err.cause?.type, 'AcceptedUpdateCompletedWorkflow');
  expectEqual(result, 'update failure message', err.cause?.message, 'Workflow Update failed because the Workflow completed before the Update completed.');
}

module.exports = {
  eventTypes,
  steps: { main: mainStep, attrs: attrsStep, startAttrs: startAttrsStep, updateAfterClose: updateAfterCloseStep },
};
