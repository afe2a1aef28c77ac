module.exports = {
    buildDir: '',
    contractsDir: '',
    testDir: '',
    skipContracts: [],
    skipTests: [],
    testingTimeOutInSec: 300,
    network: "none",
    testingFramework: "truffle",
    minimal: false,
    tce: false
  }