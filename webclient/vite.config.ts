// The build goes straight into the Python package, so `eschat serve` (and the
// wheel) ship it without Node. tests/browser/test_build.py checks that the
// committed files are exactly what this source builds to.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: "../interfaces/web/static",
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  oxc: {
    jsx: { runtime: "automatic", importSource: "preact" },
  },
  server: {
    // `npm run dev` against a local `eschat serve` on the default port.
    proxy: {
      "/api": "http://127.0.0.1:4000",
      "/socket.io": { target: "http://127.0.0.1:4000", ws: true },
    },
  },
});
