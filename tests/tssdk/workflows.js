// Workflow code for run.js, bundled by the TypeScript SDK's worker. Plain
// JavaScript (CommonJS) so the program needs no build step.
//
// Every workflow publishes its progress through the "state" query so the
// client can wait for a quiet point before it sends the next signal or
// update: that keeps each history's event order independent of timing.
'use strict';

const wf = require('@temporalio/workflow');

const { greet } = wf.proxyActivities({
  // ONLY a start-to-close timeout: the server must fill in the others.
  startToCloseTimeout: '1 minute',
});
const { shout: shoutBounded } = wf.proxyActivities({
  scheduleToCloseTimeout: '1 minute',
  startToCloseTimeout: '30 seconds',
});

const stateQuery = wf.defineQuery('state');
const proceedSignal = wf.defineSignal('proceed');
const releaseSignal = wf.defineSignal('release');
const finishSignal = wf.defineSignal('finish');
const greetingUpdate = wf.defineUpdate('setGreeting');
const slowUpdate = wf.defineUpdate('slow');

/**
 * tsMain: activities, a timer, a signal, a query, an update and a child
 * workflow, then one continue-as-new. Input: {iteration, name, childId} and,
 * in the continued run, what the first run gathered.
 */
async function tsMain(input) {
  if (input.iteration > 0) {
    return { ...input.carried, iteration: input.iteration };
  }
  const state = { stage: 'activities', activities: [], signal: null, child: null, greeting: null };
  wf.setHandler(stateQuery, () => state);
  wf.setHandler(proceedSignal, (value) => {
    state.signal = value;
  });
  wf.setHandler(
    greetingUpdate,
    (greeting) => {
      state.greeting = greeting;
      return `greeting set to ${greeting}`;
    },
    {
      validator: (greeting) => {
        if (typeof greeting !== 'string' || greeting === '') throw new Error('greeting must be a non-empty string');
      },
    },
  );

  state.activities.push(await greet(input.name));
  state.activities.push(await shoutBounded(state.activities[0]));
  state.stage = 'timer';
  await wf.sleep('1 second');

  state.stage = 'waiting-signal';
  await wf.condition(() => state.signal !== null);

  state.stage = 'starting-child';
  const child = await wf.startChild(tsChild, { workflowId: input.childId, args: [input.name] });
  state.stage = 'child-started';
  state.child = await child.result();

  state.stage = 'waiting-update';
  await wf.condition(() => state.greeting !== null);

  const { stage: _stage, ...carried } = state;
  return await wf.continueAsNew({ iteration: 1, carried });
}

/** tsChild waits for the "release" signal and returns a value made from its input. */
async function tsChild(name) {
  let released = false;
  wf.setHandler(stateQuery, () => ({ stage: released ? 'released' : 'waiting-release' }));
  wf.setHandler(releaseSignal, () => {
    released = true;
  });
  await wf.condition(() => released);
  return `child of ${name}`;
}

/**
 * tsAttrs upserts search attributes of every type in the list form the SDK
 * sends for a SearchAttributes record, and deletes and adds memo keys.
 * Input: {searchAttributes: {name: [iso-string or value]}, datetimeNames: [...]}
 * (dates travel as ISO strings and become Date objects here).
 */
async function tsAttrs(input) {
  let finished = false;
  let stage = 'upserting';
  wf.setHandler(stateQuery, () => ({ stage }));
  wf.setHandler(finishSignal, () => {
    finished = true;
  });
  const attrs = {};
  for (const [name, values] of Object.entries(input.searchAttributes)) {
    attrs[name] = input.datetimeNames.includes(name) ? values.map((v) => new Date(v)) : values;
  }
  wf.upsertSearchAttributes(attrs);
  wf.upsertMemo(input.memoUpsert);
  stage = 'upserted';
  await wf.condition(() => finished);
  return 'attrs done';
}

/** tsHold waits for the "finish" signal. */
async function tsHold() {
  let finished = false;
  wf.setHandler(stateQuery, () => ({ stage: 'holding' }));
  wf.setHandler(finishSignal, () => {
    finished = true;
  });
  await wf.condition(() => finished);
  return 'held';
}

/**
 * tsUpdateOutlives accepts a "slow" update whose handler never finishes,
 * then completes the run when signalled "finish".
 */
async function tsUpdateOutlives() {
  let finished = false;
  let accepted = 0;
  wf.setHandler(stateQuery, () => ({ stage: finished ? 'finishing' : 'waiting-finish', accepted }));
  wf.setHandler(finishSignal, () => {
    finished = true;
  });
  wf.setHandler(slowUpdate, async () => {
    accepted++;
    await wf.condition(() => false);
    return 'unreachable';
  }, { unfinishedPolicy: 'ABANDON' });
  await wf.condition(() => finished);
  return 'run completed with an update in flight';
}

module.exports = { tsMain, tsChild, tsAttrs, tsHold, tsUpdateOutlives };
