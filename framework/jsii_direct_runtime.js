'use strict';
// jsii runtime launcher without the relay process (fast mode only; see
// framework/node_runtime.py, which points JSII_RUNTIME here, and
// docs/performance.md).
//
// jsii's stock launcher (bin/jsii-runtime.js) starts a second Node.js
// process for the kernel (lib/program.js), which speaks the jsii protocol
// on its file descriptor 3, and relays every message between that and its
// own stdin/stdout. Every call from Python thus crosses two processes.
// This launcher runs the kernel in this process and maps its descriptor 3
// onto stdin/stdout; console output of JavaScript code is wrapped into the
// JSON lines the stock launcher writes to stderr, which jsii's Python side
// already decodes.
//
// Safety: the kernel is used directly only if its source still declares
// the synchronous fd-3 channel this was written for; otherwise the stock
// launcher runs, unchanged.
const fs = require('fs');
const path = require('path');

const runtimeDir = process.env.PAYMENT_JSII_RUNTIME_DIR;
const program = path.join(runtimeDir, 'lib', 'program.js');
const stockLauncher = path.join(runtimeDir, 'bin', 'jsii-runtime.js');
const CHANNEL_MARKER = 'readFD:3,writeFD:3';
const CHANNEL_FD = 3;
const STDIN_FD = 0;
const STDOUT_FD = 1;
const STDERR_FD = 2;

function kernelUsesFd3() {
  try {
    return fs.readFileSync(program, 'utf8').includes(CHANNEL_MARKER);
  } catch (err) {
    return false;
  }
}

// Writes all of ``buffer`` to ``fd``, waiting while a full pipe says EAGAIN.
function writeAll(writeSync, fd, buffer) {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let written = 0;
  while (written < buffer.length) {
    try {
      written += writeSync.call(fs, fd, buffer, written, buffer.length - written);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function runDirect() {
  const { Writable } = require('stream');
  const readSync = fs.readSync;
  const writeSync = fs.writeSync;
  // Console output becomes one JSON line per chunk on stderr, exactly what
  // the stock launcher forwards and jsii's Python side decodes.
  const forward = (stream, chunk) => {
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), 'utf8');
    writeAll(writeSync, STDERR_FD,
      Buffer.from(JSON.stringify({ [stream]: data.toString('base64') }) + '\n'));
  };
  fs.readSync = function (fd, ...rest) {
    return readSync.call(fs, fd === CHANNEL_FD ? STDIN_FD : fd, ...rest);
  };
  fs.writeSync = function (fd, buffer, offset, length, ...rest) {
    if (fd === CHANNEL_FD) return writeSync.call(fs, STDOUT_FD, buffer, offset, length, ...rest);
    if (fd !== STDOUT_FD && fd !== STDERR_FD) {
      return writeSync.call(fs, fd, buffer, offset, length, ...rest);
    }
    // stdout carries the protocol now: anything else written to it, or to
    // stderr, is console output.
    let data;
    if (typeof buffer === 'string') {
      data = Buffer.from(buffer, typeof length === 'string' ? length : 'utf8');
    } else {
      const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      const start = typeof offset === 'number' ? offset : 0;
      const end = typeof length === 'number' ? start + length : bytes.length;
      data = bytes.subarray(start, end);
    }
    forward(fd === STDOUT_FD ? 'stdout' : 'stderr', data);
    return data.length;
  };
  // Node's own stdout/stderr streams would switch the pipes to non-blocking
  // mode, which the kernel's synchronous reads do not expect: replace them
  // before anything creates them.
  for (const name of ['stdout', 'stderr']) {
    const stream = new Writable({
      write(chunk, encoding, callback) {
        forward(name, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, encoding));
        callback();
      },
    });
    Object.defineProperty(process, name, { configurable: true, enumerable: true, get: () => stream });
  }
  // The kernel links loaded packages with one symlink, instead of a tree of
  // hard links (about 1 s to create and 0.7 s to delete for the provider),
  // when it sees this flag among its arguments. The stock launcher passes it
  // on the command line; here it comes through NODE_OPTIONS
  // (framework/node_runtime.py), which execArgv does not show.
  const preserve = '--preserve-symlinks';
  if ((process.env.NODE_OPTIONS || '').split(/\s+/).includes(preserve)
      && !process.execArgv.includes(preserve)) {
    process.execArgv.push(preserve);
  }
  require(program);
}

if (runtimeDir && kernelUsesFd3()) {
  runDirect();
} else {
  require(stockLauncher);
}
