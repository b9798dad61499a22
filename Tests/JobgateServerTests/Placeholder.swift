import Testing
@testable import JobgateServer
