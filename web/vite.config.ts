/// <reference types="vitest/config" />
import { defineConfig, type ProxyOptions } from 'vite';

/**
 * Where `callbase serve` listens: the dev stack's 127.0.0.1:8080 (docs/development.md), or another
 * server given as `CALLBASE_DEV_SERVER=http://127.0.0.1:PORT npm run dev`.
 */
const SERVER = process.env.CALLBASE_DEV_SERVER ?? 'http://127.0.0.1:8080';

/**
 * The server refuses unsafe requests whose `Origin` is not its own (403 `bad_origin`). The dev
 * server runs on another port, so the proxy presents the request as coming from the server's origin.
 */
function toServer(ws = false): ProxyOptions {
  return {
    target: SERVER,
    ws,
    changeOrigin: true,
    configure(proxy) {
      proxy.on('proxyReq', (req) => {
        if (req.getHeader('origin')) req.setHeader('origin', SERVER);
      });
      proxy.on('proxyReqWs', (req) => {
        if (req.getHeader('origin')) req.setHeader('origin', SERVER);
      });
    },
  };
}

const proxy = {
  '/api': toServer(),
  '/events': toServer(true),
  '/sip': toServer(true),
  '/healthz': toServer(),
  '/readyz': toServer(),
};

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  server: { proxy },
  preview: { proxy },
  build: { outDir: 'dist', sourcemap: true },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
