'use strict';
// Preloaded (NODE_OPTIONS=--require) into the Node.js process that jsii
// starts for the app, only in the fast provider mode (framework/aws.py).
//
// The prebuilt provider's lib/index.js eagerly requires all ~2,200 resource
// modules (about 5 s and 500 MB). This hook replaces exactly that file's
// `exports.x = require("./x")` lines with getters that require a module on
// first use. Anything unexpected in the file (another package, another
// statement) means: load it the normal way. Equality of the synthesized
// JSON with the plain import is proven by tests/test_provider_loader.py.
const Module = require('module');
const fs = require('fs');
const path = require('path');

const PACKAGE_NAME = '@cdktf/provider-aws';
const REQUIRE_LINE = /^exports\.([A-Za-z_$][\w$]*) = require\("(\.\/[\w.-]+)"\);$/;
const VOID_LINE = /^exports\.[A-Za-z_$][\w$]*( = exports\.[A-Za-z_$][\w$]*)* = void 0;$/;
const IGNORED_LINES = new Set([
  '"use strict";',
  'Object.defineProperty(exports, "__esModule", { value: true });',
]);

function isProviderIndex(filename) {
  if (path.basename(filename) !== 'index.js') return false;
  const libDir = path.dirname(filename);
  if (path.basename(libDir) !== 'lib') return false;
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(libDir, '..', 'package.json'), 'utf8'));
    return pkg.name === PACKAGE_NAME;
  } catch (err) {
    return false;
  }
}

// Returns [[exportName, relativePath], ...] or null when the file holds
// anything but comments, the ES module marker and re-exports.
function parseIndex(source) {
  const withoutComments = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const entries = [];
  for (const raw of withoutComments.split('\n')) {
    const line = raw.trim();
    if (line === '' || IGNORED_LINES.has(line) || VOID_LINE.test(line)) continue;
    const match = REQUIRE_LINE.exec(line);
    if (!match) return null;
    entries.push([match[1], match[2]]);
  }
  return entries.length > 0 ? entries : null;
}

const originalJs = Module._extensions['.js'];
Module._extensions['.js'] = function lazyProviderIndex(module, filename) {
  if (isProviderIndex(filename)) {
    const entries = parseIndex(fs.readFileSync(filename, 'utf8'));
    if (entries) {
      Object.defineProperty(module.exports, '__esModule', { value: true });
      for (const [name, relative] of entries) {
        Object.defineProperty(module.exports, name, {
          enumerable: true,
          configurable: true,
          get() {
            const value = module.require(relative);
            Object.defineProperty(module.exports, name, {
              value, enumerable: true, writable: true, configurable: true,
            });
            return value;
          },
        });
      }
      module.loaded = true;
      globalThis.__paymentLazyProviderIndex = entries.length;
      return;
    }
  }
  return originalJs(module, filename);
};
