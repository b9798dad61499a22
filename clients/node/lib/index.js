"use strict";
const { DEFAULT_ADDR, parseAddress } = require("./address");
const { Client } = require("./client");
const { ConnectionError, JobgateError } = require("./errors");
const { Worker } = require("./worker");

module.exports = { Client, Worker, JobgateError, ConnectionError, DEFAULT_ADDR, parseAddress };
