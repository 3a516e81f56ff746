// Package browsertest holds the front end's path in a real browser:
// headless Chromium drives page/index.html, a page that uses
// Nango's official frontend SDK (@nangohq/frontend, pinned in
// package.json), against the local API of `make run` (its binary, on a
// state directory of its own) from an allowed browser origin.
//
// `make tools` installs what it needs: Debian's chromium (apt-get, where
// missing) and the npm packages. Without them the test skips, except under
// CI=true, where it fails.
package browsertest
