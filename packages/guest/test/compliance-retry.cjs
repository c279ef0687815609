'use strict'

require('./compliance.cjs')('host', true)
