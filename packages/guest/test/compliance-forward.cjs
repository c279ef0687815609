'use strict'

require('./compliance.cjs')('memory')
require('./compliance.cjs')('classic')
