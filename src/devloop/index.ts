export { readProject, type Project } from './project.js';
export { scaffold, TEMPLATES, type Template } from './scaffold.js';
export { buildProject, type BuildResult } from './build.js';
export { testProject, type TestReport } from './test-runner.js';
