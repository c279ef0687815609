'use strict'

require('./compliance.cjs')(false)
