;; Hostile: imports an instance named "constructor" (a JS object's inherited property) and calls it.
(import "constructor" "get-own-property-names" (func $names))
(func $init (result i32) (call $names) (call $ok))
(func $on_timer (result i32) (call $tick))
