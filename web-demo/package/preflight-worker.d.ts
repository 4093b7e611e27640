// `preflight-check/worker`: the module Worker the element starts. Its URL, for a bundler
// that needs it spelled out:
//   new Worker(new URL("preflight-check/worker", import.meta.url), { type: "module" })
export {};
