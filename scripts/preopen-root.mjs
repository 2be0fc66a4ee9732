// Build tools only (never the host runtime): preview2-shim 0.26 no longer preopens `/`, and jco /
// componentize-js read WIT files through it (field notes: "failed to get path metadata").
import { _addPreopen } from '@bytecodealliance/preview2-shim/filesystem';
_addPreopen('/', '/');
