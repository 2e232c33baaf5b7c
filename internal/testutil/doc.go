// Package testutil holds what memqos tests share: skips with a reason for
// missing privileges or kernel features, scratch cgroups, helper child
// processes, fake cgroup trees and golden files.
//
// A test that needs a feature calls [Require]. Where the feature is missing
// the test is skipped with the reason, unless the environment variable
// MEMQOS_TEST_REQUIRE names the feature: then the environment has promised
// it, and the test fails instead. The guest test suite sets that variable
// for each kernel, so a test that needs a kernel feature never passes
// vacuously where the feature should be.
package testutil
