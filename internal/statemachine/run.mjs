#!/usr/bin/env node
// Runs a state machine definition locally with aws-local-stepfunctions, its
// lambda:invoke tasks sent to a function under the AWS Lambda Runtime
// Interface Emulator, as Step Functions would invoke the deployed function.
//
//   node run.mjs --definition execute-node.asl.json --lambda-url http://127.0.0.1:PORT \
//     [--sub Name=Value ...] [--retry-interval-ms N] [--lose-first-success] < input.json
//
// The execution input is read from stdin. The result is printed on stdout as
// one JSON document:
//   {"status":"SUCCEEDED","output":...,"invocations":N,"events":[...]}
//   {"status":"FAILED","error":"Connectors.InvalidInput","cause":"...","invocations":N,"events":[...]}
// Exit status: 0 succeeded, 1 the execution failed (or timed out), 2 the
// runner itself could not run (usage, invalid definition).
//
// --lambda-url defaults to $LAMBDA_URL. --sub fills the definition's
// ${Name} placeholders as the template's DefinitionSubstitutions do.
// --retry-interval-ms replaces every retry wait (tests must not sleep for
// seconds). --lose-first-success discards the first successful answer of the
// function and fails the task with Lambda.ServiceException instead, as when
// Lambda's answer is lost after the function ran: Step Functions retries a
// task whose work was already done.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

// aws-local-stepfunctions targets Node 22 and uses Promise.withResolvers
// (Node 22+); this is the whole of what it needs on Node 20. It must be in
// place before the package is loaded, hence the dynamic import below.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const { StateMachine, ExecutionError, ExecutionTimeoutError } = await import('aws-local-stepfunctions');

// The emulator's invoke endpoint, relative to its base URL.
const INVOKE_PATH = '/2015-03-31/functions/function/invocations';
// The Step Functions service integration this runner stands in for.
const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';

/** An error Step Functions matches by name in Retry and Catch. */
class TaskError extends Error {
  constructor(name, cause) {
    super(cause);
    this.name = name;
  }
}

function usage(message) {
  process.stderr.write(`run.mjs: ${message}\n`);
  process.exit(2);
}

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        definition: { type: 'string' },
        'lambda-url': { type: 'string' },
        sub: { type: 'string', multiple: true, default: [] },
        'retry-interval-ms': { type: 'string' },
        'lose-first-success': { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    usage(err.message);
  }
  const lambdaURL = parsed['lambda-url'] ?? process.env.LAMBDA_URL;
  if (!parsed.definition) usage('--definition is required');
  if (!lambdaURL) usage('--lambda-url (or LAMBDA_URL) is required');
  const subs = {};
  for (const s of parsed.sub) {
    const i = s.indexOf('=');
    if (i <= 0) usage(`--sub ${s}: want Name=Value`);
    subs[s.slice(0, i)] = s.slice(i + 1);
  }
  let retryIntervalMs;
  if (parsed['retry-interval-ms'] !== undefined) {
    retryIntervalMs = Number(parsed['retry-interval-ms']);
    if (!Number.isInteger(retryIntervalMs) || retryIntervalMs < 0) usage('--retry-interval-ms wants a whole number');
  }
  return {
    definition: parsed.definition,
    lambdaURL: lambdaURL.replace(/\/+$/, ''),
    subs,
    retryIntervalMs,
    loseFirstSuccess: parsed['lose-first-success'],
  };
}

// substitute fills ${Name} as CloudFormation's DefinitionSubstitutions do; a
// placeholder without a value is an error there too.
function substitute(text, subs) {
  const missing = new Set();
  const out = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, name) => {
    if (!(name in subs)) {
      missing.add(name);
      return whole;
    }
    return subs[name];
  });
  if (missing.size > 0) usage(`no --sub for ${[...missing].join(', ')}`);
  return out;
}

// isFunctionError reports whether an emulator answer is a function's error
// document ({"errorType","errorMessage"[,"stackTrace"]}) rather than a
// result: the emulator answers both with 200.
function isFunctionError(doc) {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || typeof doc.errorType !== 'string') return false;
  return Object.keys(doc).every((k) => ['errorType', 'errorMessage', 'stackTrace', 'trace'].includes(k));
}

// lambdaInvoker returns the local handler of a lambda:invoke task: it POSTs
// the Payload to the emulator and answers as the integration does
// ({StatusCode, Payload, ...}), or throws the function's errorType.
function lambdaInvoker(opts, stats) {
  let lostOne = false;
  return async (input) => {
    if (!input || typeof input.FunctionName !== 'string' || !('Payload' in input)) {
      throw new TaskError('States.Runtime', 'lambda:invoke needs Parameters with FunctionName and Payload');
    }
    stats.invocations++;
    let res;
    let text;
    try {
      res = await fetch(opts.lambdaURL + INVOKE_PATH, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input.Payload),
      });
      text = await res.text();
    } catch (err) {
      // The client could not reach Lambda: what the SDK reports as such.
      throw new TaskError('Lambda.SdkClientException', `invoke ${opts.lambdaURL}: ${err.cause?.message ?? err.message}`);
    }
    if (res.status === 429) throw new TaskError('Lambda.TooManyRequestsException', text);
    if (res.status >= 500) throw new TaskError('Lambda.ServiceException', text);
    if (res.status !== 200) throw new TaskError('Lambda.AWSLambdaException', `status ${res.status}: ${text}`);
    let payload = null;
    if (text !== '') {
      try {
        payload = JSON.parse(text);
      } catch {
        payload = text;
      }
    }
    if (res.headers.has('x-amz-function-error') || isFunctionError(payload)) {
      // Step Functions' Error is the errorType; its Cause is the error
      // document as the function returned it.
      const name = payload?.errorType ?? 'Lambda.Unknown';
      throw new TaskError(name, text);
    }
    if (opts.loseFirstSuccess && !lostOne) {
      lostOne = true;
      stats.lostAnswers++;
      throw new TaskError('Lambda.ServiceException', 'injected by run.mjs: the function answered, the answer was lost');
    }
    return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
  };
}

// summarize keeps what a test or a person reads of an event.
function summarize(e) {
  const out = { type: e.type };
  if (e.state) out.state = e.state.name;
  if (e.Error !== undefined) out.error = e.Error;
  if (e.Cause !== undefined) out.cause = typeof e.Cause === 'string' ? e.Cause : String(e.Cause?.message ?? e.Cause);
  if (e.retry) out.attempt = e.retry.attempt;
  return out;
}

async function main() {
  const opts = options();
  let definition;
  try {
    definition = JSON.parse(substitute(readFileSync(opts.definition, 'utf8'), opts.subs));
  } catch (err) {
    usage(`${opts.definition}: ${err.message}`);
  }
  let input;
  try {
    input = JSON.parse(readFileSync(0, 'utf8'));
  } catch (err) {
    usage(`input (stdin): ${err.message}`);
  }

  let machine;
  try {
    // The constructor validates the definition (asl-validator).
    machine = new StateMachine(definition);
  } catch (err) {
    usage(`invalid definition: ${err.message}`);
  }

  const stats = { invocations: 0, lostAnswers: 0 };
  const invoke = lambdaInvoker(opts, stats);
  const handlers = {};
  const retryIntervals = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Task' && state.Resource === LAMBDA_INVOKE) handlers[name] = invoke;
    if (state.Retry && opts.retryIntervalMs !== undefined) retryIntervals[name] = opts.retryIntervalMs;
  }

  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: retryIntervals },
  });
  const events = [];
  const logged = (async () => {
    for await (const e of execution.eventLogs) events.push(summarize(e));
  })();

  const report = {};
  try {
    report.status = 'SUCCEEDED';
    report.output = await execution.result;
  } catch (err) {
    if (err instanceof ExecutionTimeoutError) {
      Object.assign(report, { status: 'TIMED_OUT', error: 'States.Timeout', cause: err.message });
    } else if (err instanceof ExecutionError) {
      // err.cause is the state's error: the Fail state's Error and Cause,
      // or an uncaught task error.
      Object.assign(report, { status: 'FAILED', error: err.cause?.name, cause: err.cause?.message });
    } else {
      usage(`execution: ${err.stack ?? err}`);
    }
  }
  await logged;
  Object.assign(report, stats, { events });
  process.stdout.write(JSON.stringify(report) + '\n');
  // A timed-out task may still hold a request open: do not wait for it.
  process.exit(report.status === 'SUCCEEDED' ? 0 : 1);
}

await main();
