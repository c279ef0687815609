'use strict'

require('./compliance.cjs')('host', false)
