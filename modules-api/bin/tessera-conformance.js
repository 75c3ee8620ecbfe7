#!/usr/bin/env node
require("../dist/conformance-cli.js");
