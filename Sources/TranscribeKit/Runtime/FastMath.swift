/// Vectorised exp and erf for the elementwise hot spots (softmax, GELU): 8 lanes at a time,
/// branch-free, with no Float -> Int conversion that could trap on NaN or infinity.
typealias Lanes = SIMD8<Float>

/// A function of 8 values at a time for `FastMath.map`, given as a value of a concrete type: the
/// generic loop is then specialised for it with the function inlined. (A closure there was left as
/// a call for every 8 values, passing them in two halves: softmax ran ~4 times slower.)
protocol LaneFunction {
    func callAsFunction(_ x: Lanes) -> Lanes
}

enum FastMath {
    /// e^x to about 2 ulp (Cephes' expf polynomial on x - n ln 2, scaled by 2^n through the
    /// exponent bits). Inputs are clamped to [-87.3, 88.3]: exp(-inf) gives ~1e-38, not 0.
    @inline(__always)
    static func exp(_ x: Lanes) -> Lanes {
        let high = Lanes(repeating: 88.3), low = Lanes(repeating: -87.3)
        var v = x.replacing(with: high, where: .!(x .< high))  // NaN -> high as well
        v.replace(with: low, where: v .< low)
        // n = round(v / ln 2), read from the low mantissa bits of v / ln 2 + 1.5 * 2^23.
        let shifter = Lanes(repeating: 12_582_912)
        let t = shifter.addingProduct(v, Lanes(repeating: 1.442_695_04))
        let n = t - shifter
        let r = v.addingProduct(n, Lanes(repeating: -0.693_359_375)).addingProduct(n, Lanes(repeating: 2.121_944_4e-4))
        var p = Lanes(repeating: 1.987_569_15e-4)
        p = horner(p, r, 1.398_199_950_7e-3)
        p = horner(p, r, 8.333_451_907_3e-3)
        p = horner(p, r, 4.166_579_589_4e-2)
        p = horner(p, r, 1.666_666_545_9e-1)
        p = horner(p, r, 5.000_000_120_1e-1)
        p = (r + 1).addingProduct(p, r * r)
        let exponent = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: Lanes.self)
    }

    /// erf(x) to a few ulp as the rational function x P(x²) / Q(x²) on [-4, 4] (beyond, erf is
    /// ±1 in float32): the minimax fit Eigen and XLA use for float. No exp, one division.
    @inline(__always)
    static func erf(_ x: Lanes) -> Lanes {
        var v = x.replacing(with: 4, where: .!(x .< 4))  // NaN -> 4 as well
        v.replace(with: -4, where: v .< -4)
        let z = v * v
        var p = Lanes(repeating: -2.726_142_258_013_06e-10)
        p = horner(p, z, 2.770_681_424_959_02e-08)
        p = horner(p, z, -2.101_024_020_825_08e-06)
        p = horner(p, z, -5.692_506_394_623_46e-05)
        p = horner(p, z, -7.349_906_303_268_55e-04)
        p = horner(p, z, -2.954_599_808_540_25e-03)
        p = horner(p, z, -1.609_603_332_624_15e-02)
        var q = Lanes(repeating: -1.456_607_184_649_96e-05)
        q = horner(q, z, -2.133_740_552_789_05e-04)
        q = horner(q, z, -1.682_826_974_382_03e-03)
        q = horner(q, z, -7.373_329_167_204_68e-03)
        q = horner(q, z, -1.426_473_905_141_89e-02)
        return v * p / q
    }

    /// One Horner step, `p * x + c`, as one fused multiply-add per lane.
    @inline(__always)
    static func horner(_ p: Lanes, _ x: Lanes, _ c: Float) -> Lanes {
        Lanes(repeating: c).addingProduct(p, x)
    }

    /// The largest value (-infinity for none; NaN is skipped).
    @inline(__always)
    static func maximum(_ values: UnsafeMutableBufferPointer<Float>) -> Float {
        guard let base = values.baseAddress else { return -.infinity }
        var lanes = Lanes(repeating: -.infinity)
        var i = 0
        while i + 8 <= values.count {
            let v = UnsafeRawPointer(base + i).loadUnaligned(as: Lanes.self)
            lanes.replace(with: v, where: v .> lanes)
            i += 8
        }
        var result = lanes.max()
        while i < values.count {
            if base[i] > result { result = base[i] }
            i += 1
        }
        return result
    }

    /// The sum of the values, 8 partial sums at a time.
    @inline(__always)
    static func sum(_ values: UnsafeMutableBufferPointer<Float>) -> Float {
        guard let base = values.baseAddress else { return 0 }
        var lanes = Lanes()
        var i = 0
        while i + 8 <= values.count {
            lanes += UnsafeRawPointer(base + i).loadUnaligned(as: Lanes.self)
            i += 8
        }
        var result = lanes.sum()
        while i < values.count {
            result += base[i]
            i += 1
        }
        return result
    }

    /// `map(values, f)`, returning the sum of the new values (one pass instead of two).
    @inline(__always)
    static func mapAndSum<F: LaneFunction>(_ values: UnsafeMutableBufferPointer<Float>, _ f: F) -> Float {
        guard let base = values.baseAddress else { return 0 }
        let count = values.count
        var lanes = Lanes()
        var i = 0
        while i + 8 <= count {
            let raw = UnsafeMutableRawPointer(base + i)
            let y = f(raw.loadUnaligned(as: Lanes.self))
            raw.storeBytes(of: y, as: Lanes.self)
            lanes += y
            i += 8
        }
        var result = lanes.sum()
        while i < count {
            var tail = Lanes()
            tail[0] = base[i]
            base[i] = f(tail)[0]
            result += base[i]
            i += 1
        }
        return result
    }

    /// Applies `f` to every value of `values`, 8 at a time; the tail goes through a padded vector.
    @inline(__always)
    static func map<F: LaneFunction>(_ values: UnsafeMutableBufferPointer<Float>, _ f: F) {
        guard let base = values.baseAddress else { return }
        let count = values.count
        var i = 0
        while i + 8 <= count {
            let raw = UnsafeMutableRawPointer(base + i)
            raw.storeBytes(of: f(raw.loadUnaligned(as: Lanes.self)), as: Lanes.self)
            i += 8
        }
        if i < count {
            var tail = Lanes()
            for j in i..<count { tail[j - i] = base[j] }
            let result = f(tail)
            for j in i..<count { base[j] = result[j - i] }
        }
    }
}
