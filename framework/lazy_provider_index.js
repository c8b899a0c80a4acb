'use strict';
// Preloaded (NODE_OPTIONS=--require) into the Node.js process that jsii
// starts for the app, only in the fast provider mode (framework/aws.py).
//
// The prebuilt provider's lib/index.js eagerly requires all of its resource
// modules (~2,200 for cdktf's, ~2,460 for CDK Terrain's; about 5 s and
// 500 MB). This hook replaces exactly that file's re-export lines with
// getters that require a module on first use. Two layouts are known:
//
//   cdktf:  exports.vpc = require("./vpc");
//   cdktn:  exports.vpc = __importStar(require("./vpc/index"));
//           (after TypeScript's standard __createBinding/__setModuleDefault/
//           __importStar helpers, which must match HELPERS exactly; the
//           getter applies the file's own __importStar)
//
// The package is the one named by PAYMENT_LAZY_PROVIDER_NPM (set by
// framework/node_runtime.py from framework/distribution.py). Anything
// unexpected in the file (another statement, other helpers) means: load it
// the normal way, with one warning line on stderr, since that costs seconds
// (the tripwire tests, tests/test_lazy_index_tripwire.py and make
// terrain-check, fail on it). With PAYMENT_LAZY_INDEX_REPORT naming a file,
// one JSON line per provider index seen is appended to it. Equality of the
// synthesized JSON with the plain import: tests/test_provider_loader.py.
const Module = require('module');
const fs = require('fs');
const path = require('path');

const PACKAGE_NAME = process.env.PAYMENT_LAZY_PROVIDER_NPM || '';
const REPORT_FILE = process.env.PAYMENT_LAZY_INDEX_REPORT || '';
const REQUIRE_LINE = /^exports\.([A-Za-z_$][\w$]*) = require\("(\.\/[\w./-]+)"\);$/;
const IMPORT_STAR_LINE =
  /^exports\.([A-Za-z_$][\w$]*) = __importStar\(require\("(\.\/[\w./-]+)"\)\);$/;
const VOID_LINE = /^exports\.[A-Za-z_$][\w$]*( = exports\.[A-Za-z_$][\w$]*)* = void 0;$/;
const IGNORED_LINES = new Set([
  '"use strict";',
  'Object.defineProperty(exports, "__esModule", { value: true });',
]);
// TypeScript's helpers for `export * as x from`, whitespace collapsed.
const HELPERS = [
  'var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {',
  'if (k2 === undefined) k2 = k;',
  'var desc = Object.getOwnPropertyDescriptor(m, k);',
  'if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {',
  'desc = { enumerable: true, get: function() { return m[k]; } };',
  '}',
  'Object.defineProperty(o, k2, desc);',
  '}) : (function(o, m, k, k2) {',
  'if (k2 === undefined) k2 = k;',
  'o[k2] = m[k];',
  '}));',
  'var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {',
  'Object.defineProperty(o, "default", { enumerable: true, value: v });',
  '}) : function(o, v) {',
  'o["default"] = v;',
  '});',
  'var __importStar = (this && this.__importStar) || (function () {',
  'var ownKeys = function(o) {',
  'ownKeys = Object.getOwnPropertyNames || function (o) {',
  'var ar = [];',
  'for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;',
  'return ar;',
  '};',
  'return ownKeys(o);',
  '};',
  'return function (mod) {',
  'if (mod && mod.__esModule) return mod;',
  'var result = {};',
  'if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);',
  '__setModuleDefault(result, mod);',
  'return result;',
  '};',
  '})();',
].join(' ');

const collapse = (text) => text.replace(/\s+/g, ' ').trim();

function isProviderIndex(filename) {
  if (!PACKAGE_NAME || path.basename(filename) !== 'index.js') return false;
  const libDir = path.dirname(filename);
  if (path.basename(libDir) !== 'lib') return false;
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(libDir, '..', 'package.json'), 'utf8'));
    return pkg.name === PACKAGE_NAME;
  } catch (err) {
    return false;
  }
}

// Returns {entries: [[exportName, relativePath, viaImportStar], ...],
// helpers: source or ''} or {reason} when the file holds anything but
// comments, the ES module marker, the known helpers and re-exports.
function parseIndex(source) {
  const withoutComments = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const entries = [];
  const other = [];
  for (const raw of withoutComments.split('\n')) {
    const line = raw.trim();
    if (line === '' || IGNORED_LINES.has(line) || VOID_LINE.test(line)) continue;
    const plain = REQUIRE_LINE.exec(line);
    const star = plain ? null : IMPORT_STAR_LINE.exec(line);
    if (plain || star) {
      const match = plain || star;
      entries.push([match[1], match[2], Boolean(star)]);
    } else {
      other.push(raw);
    }
  }
  const helpers = other.join('\n');
  if (helpers !== '' && collapse(helpers) !== HELPERS) {
    return { reason: `unexpected statement: ${collapse(other[0]).slice(0, 120)}` };
  }
  if (entries.length === 0) return { reason: 'no re-exports' };
  if (entries.some(([, , viaStar]) => viaStar) && helpers === '') {
    return { reason: '__importStar used without its helper' };
  }
  return { entries, helpers };
}

function report(filename, verdict) {
  if (!REPORT_FILE) return;
  const line = { package: PACKAGE_NAME, file: filename, pid: process.pid, ...verdict };
  fs.appendFileSync(REPORT_FILE, JSON.stringify(line) + '\n');
}

const originalJs = Module._extensions['.js'];
Module._extensions['.js'] = function lazyProviderIndex(module, filename) {
  if (!isProviderIndex(filename)) return originalJs(module, filename);
  const parsed = parseIndex(fs.readFileSync(filename, 'utf8'));
  if (!parsed.entries) {
    process.stderr.write(
      `lazy_provider_index: ${PACKAGE_NAME} index not recognised (${parsed.reason}); ` +
        'loading every module (slow). See docs/performance.md.\n');
    report(filename, { lazy: false, reason: parsed.reason });
    return originalJs(module, filename);
  }
  // The file's own helper, evaluated as the file would (``this`` is exports).
  const importStar = parsed.helpers
    ? new Function(`${parsed.helpers}\nreturn __importStar;`).call(module.exports)
    : null;
  Object.defineProperty(module.exports, '__esModule', { value: true });
  for (const [name, relative, viaStar] of parsed.entries) {
    Object.defineProperty(module.exports, name, {
      enumerable: true,
      configurable: true,
      get() {
        const loaded = module.require(relative);
        const value = viaStar ? importStar(loaded) : loaded;
        Object.defineProperty(module.exports, name, {
          value, enumerable: true, writable: true, configurable: true,
        });
        return value;
      },
    });
  }
  module.loaded = true;
  globalThis.__paymentLazyProviderIndex = parsed.entries.length;
  report(filename, { lazy: true, modules: parsed.entries.length });
};
