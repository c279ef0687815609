'use strict'

require('./compliance.cjs')(true)
