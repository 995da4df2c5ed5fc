#!/usr/bin/env node
// Checks syntaxes/kumo.tmLanguage.json with the engine VS Code itself uses (vscode-textmate
// on vscode-oniguruma): the grammar is well formed (every `include` resolves, every regex
// compiles), the example deployment and the stdlib tokenize without `invalid` scopes and
// without an unterminated begin/end rule, and chosen tokens get the expected scopes.
//
//   cd editors/vscode && npm install && npm test      (or: node test/grammar.test.js)
//
// Exits 1 when a check fails, 2 when the test cannot run.
'use strict';

const fs = require('fs');
const path = require('path');

let vsctm;
let oniguruma;
try {
  vsctm = require('vscode-textmate');
  oniguruma = require('vscode-oniguruma');
} catch (err) {
  console.error('grammar test: run `npm install` in editors/vscode first (' + err.message + ')');
  process.exit(2);
}

const EXT_DIR = path.resolve(__dirname, '..');
const REPO = path.resolve(EXT_DIR, '..', '..');
const GRAMMAR_PATH = path.join(EXT_DIR, 'syntaxes', 'kumo.tmLanguage.json');

let failures = 0;
let passes = 0;
function fail(message) {
  failures += 1;
  console.log('  FAIL ' + message);
}
function pass() {
  passes += 1;
}

// ---- structure ---------------------------------------------------------------------------

function checkStructure(raw) {
  console.log('structure');
  if (raw.scopeName !== 'source.kumo') fail(`scopeName is ${JSON.stringify(raw.scopeName)}, expected "source.kumo"`);
  else pass();
  if (!Array.isArray(raw.patterns) || raw.patterns.length === 0) fail('no top-level patterns');
  else pass();
  if (!raw.repository || typeof raw.repository !== 'object') fail('no repository');
  else pass();

  const regexes = [];
  const walk = (rule, where) => {
    if (!rule || typeof rule !== 'object') return;
    if (typeof rule.include === 'string') {
      const inc = rule.include;
      if (inc.startsWith('#')) {
        if (!raw.repository || !(inc.slice(1) in raw.repository)) fail(`${where}: include ${inc} does not resolve`);
        else pass();
      } else if (inc !== '$self' && inc !== '$base') {
        fail(`${where}: include ${inc} names another grammar`);
      }
    }
    for (const key of ['match', 'begin', 'end', 'while']) {
      if (key in rule) {
        if (typeof rule[key] !== 'string') fail(`${where}.${key} is not a string`);
        else regexes.push([`${where}.${key}`, rule[key]]);
      }
    }
    if ('begin' in rule && !('end' in rule) && !('while' in rule)) fail(`${where}: begin without end`);
    if ('match' in rule && 'begin' in rule) fail(`${where}: both match and begin`);
    for (const key of ['captures', 'beginCaptures', 'endCaptures']) {
      if (rule[key]) {
        for (const [index, capture] of Object.entries(rule[key])) {
          if (!/^\d+$/.test(index)) fail(`${where}.${key}: capture key ${index} is not a number`);
          walk(capture, `${where}.${key}[${index}]`);
        }
      }
    }
    if (rule.patterns) {
      if (!Array.isArray(rule.patterns)) fail(`${where}.patterns is not a list`);
      else rule.patterns.forEach((p, i) => walk(p, `${where}.patterns[${i}]`));
    }
  };
  raw.patterns.forEach((p, i) => walk(p, `patterns[${i}]`));
  for (const [name, rule] of Object.entries(raw.repository || {})) walk(rule, `repository.${name}`);

  for (const [where, source] of regexes) {
    try {
      const scanner = new oniguruma.OnigScanner([source]);
      scanner.dispose();
      pass();
    } catch (err) {
      fail(`${where}: regex does not compile: ${err.message}: ${source}`);
    }
  }
  console.log(`  ${regexes.length} regexes compile`);
}

// ---- tokenizing --------------------------------------------------------------------------

function tokenize(grammar, text) {
  const lines = text.split(/\r?\n/);
  let state = vsctm.INITIAL;
  const out = [];
  for (const line of lines) {
    const result = grammar.tokenizeLine(line, state);
    out.push({ line, tokens: result.tokens });
    state = result.ruleStack;
  }
  return { lines: out, state };
}

/** Scopes at each character of `line` (one array of scope names per character). */
function scopesAt(tokens, index) {
  for (const t of tokens) {
    if (t.startIndex <= index && index < t.endIndex) return t.scopes;
  }
  return [];
}

function checkWholeFile(grammar, file) {
  const rel = path.relative(REPO, file);
  const { lines, state } = tokenize(grammar, fs.readFileSync(file, 'utf8'));
  let bad = 0;
  lines.forEach(({ line, tokens }, i) => {
    for (const t of tokens) {
      if (t.scopes.some((s) => s.startsWith('invalid'))) {
        bad += 1;
        fail(`${rel}:${i + 1}: "${line.slice(t.startIndex, t.endIndex)}" is ${t.scopes.join(' ')}`);
      }
    }
  });
  if (bad === 0) pass();
  // Back at the root rule: no begin/end rule (string, list, call, comment) left open.
  if (state.parent !== null && state.parent !== undefined) fail(`${rel}: a rule is still open at the end of the file`);
  else pass();
  console.log(`  ${rel}: ${lines.length} lines`);
  return lines;
}

/**
 * Every character of the `occurrence`-th `needle` on the first line containing `lineNeedle`
 * must carry `scope` (as a prefix of one of its scopes, so `comment.line` matches
 * `comment.line.double-slash.kumo`).
 */
function expectScope(lines, where, lineNeedle, needle, scope, occurrence = 1) {
  const entry = lines.find((l) => l.line.includes(lineNeedle));
  if (!entry) {
    fail(`${where}: no line contains ${JSON.stringify(lineNeedle)}`);
    return;
  }
  let at = -1;
  for (let n = 0; n < occurrence; n += 1) {
    at = entry.line.indexOf(needle, at + 1);
    if (at < 0) break;
  }
  if (at < 0) {
    fail(`${where}: ${JSON.stringify(needle)} (#${occurrence}) not on line ${JSON.stringify(entry.line.trim())}`);
    return;
  }
  for (let i = at; i < at + needle.length; i += 1) {
    const scopes = scopesAt(entry.tokens, i);
    if (!scopes.some((s) => s === scope || s.startsWith(scope + '.'))) {
      fail(
        `${where}: ${JSON.stringify(needle)} in ${JSON.stringify(entry.line.trim())}: ` +
          `char ${JSON.stringify(entry.line[i])} has [${scopes.join(', ')}], expected ${scope}`
      );
      return;
    }
  }
  pass();
}

const SNIPPET = String.raw`
# a hash comment
/* a block
   comment */
deployment "example-com" {
  environment = staging
}
resources { requests { cpu = 1000m  memory = 2Gi } }
autoscale { min = 3  max = 10  cpu = 80% }
shaping "gmail.com" from provider.google {
  max_connection_rate = local:10/min
  max_message_rate = 500/d,max_burst=1
  connection_limit = local:5
  provider_max_message_rate = 100/5m
  idle_timeout = 1h30m
  ratio = 0.5
  count = 1_000
  offset = -1
  egress_pool = provider.google
  automation {
    regex = 'Messages from \d+\.\d+'
    action = [set_config(max_message_rate = 1/minute), set_config(connection_limit = 1)]
    trigger = threshold(10/h)
  }
}
provider "google" {
  match = [
    mx_suffix(".google.com"),
    mx_suffix(".googlemail.com"), // trailing comment
  ]
}
domain "x" { dkim { key = secret(
  "dkim-keys",
  "x.key"
) } }
queue "example.com" { tenant default-tenant { campaign spring { max_age = 2d } } }
env production {
  cluster { sink { enabled = false } }
}
shapng default {
}
header = "tab\tquote\" backslash\\ nl\n cr\r nul\0 smile\u{1F600} bad\q"
"quoted-key" = 1
relay_hosts = [10.0.0.0/8, 192.168.1.1, "::1"] # kumoc-allow(KUMO-SEC001): lab only
`;

async function main() {
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));

  const text = fs.readFileSync(GRAMMAR_PATH, 'utf8');
  let raw;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    console.log(`FAIL ${GRAMMAR_PATH} is not JSON: ${err.message}`);
    process.exit(1);
  }
  checkStructure(raw);

  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) =>
      scopeName === 'source.kumo' ? vsctm.parseRawGrammar(text, GRAMMAR_PATH) : null,
  });
  const grammar = await registry.loadGrammar('source.kumo');
  if (!grammar) {
    console.log('FAIL vscode-textmate did not load source.kumo');
    process.exit(1);
  }

  console.log('whole files (no invalid scopes, nothing left open)');
  const exampleDir = path.join(REPO, 'examples', 'example-com');
  const files = fs
    .readdirSync(exampleDir)
    .filter((f) => f.endsWith('.kumo'))
    .sort()
    .map((f) => path.join(exampleDir, f));
  const stdlib = path.join(REPO, 'stdlib', 'shaping.kumo');
  if (fs.existsSync(stdlib)) files.push(stdlib);
  if (files.length === 0) fail(`no .kumo files in ${exampleDir}`);
  const byName = {};
  for (const file of files) byName[path.basename(file)] = checkWholeFile(grammar, file);

  console.log('examples/example-com/mail.kumo scopes');
  const mail = byName['mail.kumo'];
  if (!mail) {
    fail('examples/example-com/mail.kumo is missing');
  } else {
    const m = (...args) => expectScope(mail, 'mail.kumo', ...args);
    m('// Sending domains', '// Sending domains, egress', 'comment.line.double-slash.kumo');
    m('domain "example.com" {', 'domain', 'keyword.other.block.kumo');
    m('domain "example.com" {', '"example.com"', 'string.quoted.double.kumo');
    m('domain "example.com" {', '"example.com"', 'meta.block.header.kumo');
    m('  dkim {', 'dkim', 'keyword.other.block.kumo');
    m('selector  = "default"', 'selector', 'variable.other.property.kumo');
    m('selector  = "default"', '=', 'keyword.operator.assignment.kumo');
    m('algorithm = rsa_sha256', 'rsa_sha256', 'variable.other.enummember.kumo');
    m('bits      = 2048', '2048', 'constant.numeric.integer.kumo');
    m('key       = secret(', 'secret', 'support.function.builtin.kumo');
    m('key       = secret(', '"dkim-keys"', 'string.quoted.double.kumo');
    m('key       = secret(', '"dkim-keys"', 'meta.function-call.kumo');
    m('dkim_defaults {', 'dkim_defaults', 'keyword.other.block.kumo');
    m('headers   = [', '"Message-ID"', 'string.quoted.double.kumo');
    m('headers   = [', '"Message-ID"', 'meta.list.kumo');
    m('over_sign = true', 'true', 'constant.language.boolean.kumo');
    m('pool shared {', 'pool', 'keyword.other.block.kumo');
    m('pool shared {', 'shared', 'entity.name.type.kumo');
    m('kumoc-allow(KUMO-DNS004)', 'kumoc-allow', 'keyword.other.directive.suppression.kumo');
    m('kumoc-allow(KUMO-DNS004)', 'KUMO-DNS004', 'constant.other.diagnostic-code.kumo');
    m('kumoc-allow(KUMO-DNS004)', 'NAT gateway 203.0.113.10', 'comment.line.double-slash.kumo');
    m('source shared-00 {', 'source', 'keyword.other.block.kumo');
    m('source shared-00 {', 'shared-00', 'entity.name.type.kumo');
    m('weight      = 2', '2', 'constant.numeric.integer.kumo');
    m('tenancy {', 'tenancy', 'keyword.other.block.kumo');
    m('default_tenant         = default-tenant', 'default-tenant', 'variable.other.enummember.kumo');
    m('tenant default-tenant {', 'tenant', 'keyword.other.block.kumo');
    m('queue default {', 'queue', 'keyword.other.block.kumo');
    m('max_age            = 24h', '24h', 'constant.numeric.quantity.kumo');
    m('max_age            = 24h', 'h', 'keyword.other.unit.kumo');
    m('retry_interval     = 20m', '20m', 'constant.numeric.quantity.kumo');
    m('remember_broken_tls = 3d', '3d', 'constant.numeric.quantity.kumo');
    m('shaping default {', 'shaping', 'keyword.other.block.kumo');
    m('provider "google" {', 'provider', 'keyword.other.block.kumo');
    m('max_message_rate = 50/s', '50/s', 'constant.numeric.rate.kumo');
    m('max_message_rate = 50/s', 's', 'keyword.other.unit.period.kumo', 3); // the `s` of `50/s`
    m('smtp_listener {', 'smtp_listener', 'keyword.other.block.kumo');
    m('relay_hosts = [10.244.0.0/16]', '10.244.0.0/16', 'constant.numeric.cidr.kumo');
    m('relay_hosts = [10.244.0.0/16]', 'never 0.0.0.0/0', 'comment.line.double-slash.kumo');
    m('http_listener {', 'http_listener', 'keyword.other.block.kumo');
    m('trusted_hosts = [127.0.0.1', '127.0.0.1', 'constant.numeric.ip.kumo');
    m('trusted_hosts = [127.0.0.1', '"::1"', 'string.quoted.double.kumo');
  }

  const deployment = byName['deployment.kumo'];
  if (deployment) {
    const d = (...args) => expectScope(deployment, 'deployment.kumo', ...args);
    d('deployment "example-com" {', 'deployment', 'keyword.other.block.kumo');
    d('environment = staging', 'staging', 'variable.other.enummember.kumo');
    d('cluster {', 'cluster', 'keyword.other.block.kumo');
    d('spool                    = 25Gi', '25Gi', 'constant.numeric.quantity.kumo');
    d('spool                    = 25Gi', 'Gi', 'keyword.other.unit.kumo');
    d('cpu    = 1000m', '1000m', 'constant.numeric.quantity.kumo');
    d('cpu = 80%', '80%', 'constant.numeric.quantity.kumo');
    d('cpu = 80%', '%', 'keyword.other.unit.kumo');
    d('password = secret("redis-auth", "password")', 'secret', 'support.function.builtin.kumo');
    d('mta {', 'mta', 'keyword.other.block.kumo');
    d('ports {', 'ports', 'keyword.other.block.kumo');
    d('resources {', 'resources', 'keyword.other.block.kumo');
    d('requests {', 'requests', 'keyword.other.block.kumo');
    d('limits {', 'limits', 'keyword.other.block.kumo');
    d('autoscale {', 'autoscale', 'keyword.other.block.kumo');
    d('tsa {', 'tsa', 'keyword.other.block.kumo');
    d('redis {', 'redis', 'keyword.other.block.kumo');
    d('sink {', 'sink', 'keyword.other.block.kumo');
    d('metrics {', 'metrics', 'keyword.other.block.kumo');
    d('logging {', 'logging', 'keyword.other.block.kumo');
  }

  console.log('snippet scopes (the rest of the language)');
  const snippet = tokenize(grammar, SNIPPET);
  const s = (...args) => expectScope(snippet.lines, 'snippet', ...args);
  if (snippet.state.parent !== null && snippet.state.parent !== undefined) fail('snippet: a rule is still open at the end');
  s('# a hash comment', '# a hash comment', 'comment.line.number-sign.kumo');
  s('/* a block', '/* a block', 'comment.block.kumo');
  s('   comment */', 'comment */', 'comment.block.kumo');
  s('resources { requests {', 'requests', 'keyword.other.block.kumo');
  s('resources { requests {', 'cpu', 'variable.other.property.kumo');
  s('resources { requests {', 'memory', 'variable.other.property.kumo');
  s('resources { requests {', '1000m', 'constant.numeric.quantity.kumo');
  s('resources { requests {', '2Gi', 'constant.numeric.quantity.kumo');
  s('resources { requests {', '}', 'punctuation.section.block.end.kumo');
  s('autoscale { min = 3', 'max', 'variable.other.property.kumo');
  s('autoscale { min = 3', '80%', 'constant.numeric.quantity.kumo');
  s('shaping "gmail.com" from', 'from', 'keyword.other.from.kumo');
  s('shaping "gmail.com" from', 'provider.google', 'entity.other.inherited-class.kumo');
  s('shaping "gmail.com" from', '"gmail.com"', 'string.quoted.double.kumo');
  s('local:10/min', 'local:10/min', 'constant.numeric.rate.kumo');
  s('local:10/min', 'local', 'storage.modifier.local.kumo');
  s('local:10/min', 'min', 'keyword.other.unit.period.kumo');
  s('500/d,max_burst=1', '500/d,max_burst=1', 'constant.numeric.rate.kumo');
  s('500/d,max_burst=1', 'max_burst', 'variable.parameter.max-burst.kumo');
  s('connection_limit = local:5', 'local:5', 'constant.numeric.connection-limit.kumo');
  s('= 100/5m', '100/5m', 'constant.numeric.rate.kumo');
  s('idle_timeout = 1h30m', '1h30m', 'constant.numeric.quantity.kumo');
  s('idle_timeout = 1h30m', 'h', 'keyword.other.unit.kumo');
  s('ratio = 0.5', '0.5', 'constant.numeric.decimal.kumo');
  s('count = 1_000', '1_000', 'constant.numeric.integer.kumo');
  s('offset = -1', '-1', 'constant.numeric.integer.kumo');
  s('egress_pool = provider.google', 'provider', 'entity.name.namespace.kumo');
  s('egress_pool = provider.google', '.', 'punctuation.accessor.kumo');
  s('egress_pool = provider.google', 'google', 'variable.other.enummember.kumo');
  s('  automation {', 'automation', 'keyword.other.block.kumo');
  s("regex = 'Messages", "'Messages from \\d+\\.\\d+'", 'string.quoted.single.kumo');
  s('action = [set_config(', 'set_config', 'support.function.builtin.kumo');
  s('action = [set_config(', 'max_message_rate', 'variable.parameter.kumo');
  s('action = [set_config(', '1/minute', 'constant.numeric.rate.kumo');
  s('action = [set_config(', 'connection_limit', 'variable.parameter.kumo');
  s('action = [set_config(', ']', 'punctuation.section.brackets.end.kumo');
  s('trigger = threshold(10/h)', 'threshold', 'support.function.builtin.kumo');
  s('trigger = threshold(10/h)', '10/h', 'constant.numeric.rate.kumo');
  s('mx_suffix(".google.com")', 'mx_suffix', 'support.function.builtin.kumo');
  s('mx_suffix(".google.com")', 'mx_suffix', 'meta.list.kumo');
  s('mx_suffix(".googlemail.com")', '// trailing comment', 'comment.line.double-slash.kumo');
  s('  "x.key"', '"x.key"', 'meta.function-call.kumo');
  s('queue "example.com" { tenant', 'tenant', 'keyword.other.block.kumo');
  s('queue "example.com" { tenant', 'default-tenant', 'entity.name.type.kumo');
  s('queue "example.com" { tenant', 'campaign', 'keyword.other.block.kumo');
  s('queue "example.com" { tenant', '2d', 'constant.numeric.quantity.kumo');
  s('env production {', 'env', 'keyword.other.block.kumo');
  s('env production {', 'production', 'entity.name.type.kumo');
  s('cluster { sink { enabled = false', 'false', 'constant.language.boolean.kumo');
  s('shapng default {', 'shapng', 'entity.name.tag.block.kumo');
  s('header = "tab', '\\t', 'constant.character.escape.kumo');
  s('header = "tab', '\\"', 'constant.character.escape.kumo');
  s('header = "tab', '\\\\', 'constant.character.escape.kumo');
  s('header = "tab', '\\n', 'constant.character.escape.kumo');
  s('header = "tab', '\\r', 'constant.character.escape.kumo');
  s('header = "tab', '\\0', 'constant.character.escape.kumo');
  s('header = "tab', '\\u{1F600}', 'constant.character.escape.unicode.kumo');
  s('header = "tab', '\\q', 'invalid.illegal.escape.kumo');
  s('header = "tab', ' backslash', 'string.quoted.double.kumo');
  s('"quoted-key" = 1', '"quoted-key"', 'variable.other.property.kumo');
  s('relay_hosts = [10.0.0.0/8', '10.0.0.0/8', 'constant.numeric.cidr.kumo');
  s('relay_hosts = [10.0.0.0/8', '192.168.1.1', 'constant.numeric.ip.kumo');
  s('relay_hosts = [10.0.0.0/8', '# kumoc-allow', 'comment.line.number-sign.kumo');
  s('relay_hosts = [10.0.0.0/8', 'KUMO-SEC001', 'constant.other.diagnostic-code.kumo');

  console.log(`\n${passes} checks passed, ${failures} failed`);
  process.exit(failures === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(2);
});
