// Activities for run.js. Each one checks the timeouts the server handed it
// so a missing or null timeout shows up as an activity failure, not a hang.
'use strict';

const { Context } = require('@temporalio/activity');

/** greet is scheduled with only a start-to-close timeout. */
async function greet(name) {
  const info = Context.current().info;
  if (!(info.startToCloseTimeoutMs > 0)) {
    throw new Error(`greet: start-to-close timeout is ${info.startToCloseTimeoutMs}`);
  }
  return `hello ${name}`;
}

/** shout is scheduled with schedule-to-close and start-to-close timeouts. */
async function shout(text) {
  return text.toUpperCase();
}

module.exports = { greet, shout };
