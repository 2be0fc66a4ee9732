export { readProject, type Project } from './project.js';
export { scaffold, TEMPLATES, writeProjectWit, type Template } from './scaffold.js';
export { buildProject, engineFor, type BuildResult } from './build.js';
export { componentizeJs, JS_ENGINES, type JsEngine } from './js-engines.js';
export { testProject, type TestReport } from './test-runner.js';
export { bundleEntry } from './bundle.js';
