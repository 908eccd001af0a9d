//! Values checked against NumPy/PyTorch semantics: broadcasting, reductions, indexing, matmul,
//! creation, dtypes and printing.

mod common;

use common::{assert_close, dev, on_each_device, t, tb, ti};
use ember::{DType, IndexArg, Tensor};

#[test]
fn broadcasting_matches_numpy() {
    on_each_device("broadcasting_matches_numpy", || {
        // np.arange(3).reshape(3,1) + np.array([10, 20])
        let a = ti(&[0, 1, 2], &[3, 1]);
        let b = ti(&[10, 20], &[2]);
        let c = a.add(&b).unwrap();
        assert_eq!(c.shape(), &[3, 2]);
        assert_eq!(c.to_i64_vec().unwrap(), vec![10, 20, 11, 21, 12, 22]);
        // [2,1,3] * [4,1] -> [2,4,3]
        let x = t(&[1., 2., 3., 4., 5., 6.], &[2, 1, 3]);
        let y = t(&[1., 10., 100., 1000.], &[4, 1]);
        let z = x.mul(&y).unwrap();
        assert_eq!(z.shape(), &[2, 4, 3]);
        assert_eq!(&z.to_f32_vec().unwrap()[..6], &[1., 2., 3., 10., 20., 30.]);
        assert_eq!(&z.to_f32_vec().unwrap()[21..], &[4000., 5000., 6000.]);
        // Small trailing dimension, as in pairwise distances.
        let p = t(&[0., 0., 1., 1.], &[2, 1, 2]);
        let q = t(&[1., 0., 0., 2., 3., 3.], &[1, 3, 2]);
        let d = p
            .sub(&q)
            .unwrap()
            .pow_scalar(2.0)
            .unwrap()
            .sum_dim(2, false)
            .unwrap();
        assert_eq!(d.to_f32_vec().unwrap(), vec![1., 4., 18., 1., 2., 8.]);
        assert!(t(&[1., 2., 3.], &[3]).add(&t(&[1., 2.], &[2])).is_err());
    });
}

#[test]
fn dtype_promotion_and_division() {
    on_each_device("dtype_promotion_and_division", || {
        let i = ti(&[7, -7], &[2]);
        assert_eq!(i.add_scalar(1.0).unwrap().dtype(), DType::I64);
        assert_eq!(i.add_scalar(0.5).unwrap().dtype(), DType::F32);
        // True division of ints gives floats; floor division follows Python.
        assert_eq!(
            i.div_scalar(2.0).unwrap().to_f32_vec().unwrap(),
            vec![3.5, -3.5]
        );
        assert_eq!(
            i.floor_divide(&ti(&[2, 2], &[2]))
                .unwrap()
                .to_i64_vec()
                .unwrap(),
            vec![3, -4]
        );
        let m = ti(&[1, 2], &[2]).add(&t(&[0.5, 0.5], &[2])).unwrap();
        assert_eq!(m.dtype(), DType::F32);
        let c = t(&[1., 2., 3.], &[3])
            .gt(&Tensor::scalar(1.5).unwrap())
            .unwrap();
        assert_eq!(c.dtype(), DType::Bool);
        assert_eq!(c.to_bool_vec().unwrap(), vec![false, true, true]);
        assert_eq!(
            c.logical_not().unwrap().to_bool_vec().unwrap(),
            vec![true, false, false]
        );
        assert_eq!(
            c.logical_and(&tb(&[true, true, false], &[3]))
                .unwrap()
                .to_bool_vec()
                .unwrap(),
            vec![false, true, false]
        );
    });
}

#[test]
fn reductions_match_pytorch() {
    on_each_device("reductions_match_pytorch", || {
        let x = t(&[1., 5., 3., 4., 2., 6.], &[2, 3]);
        assert_eq!(x.sum().unwrap().item().unwrap(), 21.0);
        assert_eq!(
            x.sum_dim(0, false).unwrap().to_f32_vec().unwrap(),
            vec![5., 7., 9.]
        );
        assert_eq!(x.sum_dim(-1, true).unwrap().shape(), &[2, 1]);
        assert_eq!(
            x.mean_dim(1, false).unwrap().to_f32_vec().unwrap(),
            vec![3., 4.]
        );
        let m = x.max_dim(1, false).unwrap();
        assert_eq!(m.values.to_f32_vec().unwrap(), vec![5., 6.]);
        assert_eq!(m.indices.to_i64_vec().unwrap(), vec![1, 2]);
        assert_eq!(
            x.min_dim(0, true).unwrap().indices.to_i64_vec().unwrap(),
            vec![0, 1, 0]
        );
        assert_eq!(x.argmax().unwrap().item().unwrap(), 5.0);
        assert_eq!(
            x.argmin_dim(1, false).unwrap().to_i64_vec().unwrap(),
            vec![0, 1]
        );
        // torch.var is unbiased: var([1,5,3]) = 4
        assert_close(
            &x.var(Some(1), true, false).unwrap().to_f32_vec().unwrap(),
            &[4.0, 4.0],
            1e-6,
        );
        assert_close(
            &x.std(None, false, false).unwrap().to_f32_vec().unwrap(),
            &[1.7078251],
            1e-6,
        );
        // logsumexp([1, 5, 3]) = 5.1429316, logsumexp([4, 2, 6]) = 6.1429316
        assert_close(
            &x.logsumexp(1, false).unwrap().to_f32_vec().unwrap(),
            &[5.1429316, 6.1429316],
            1e-5,
        );
        assert_close(
            &x.norm(2.0, None, false).unwrap().to_f32_vec().unwrap(),
            &[9.539392],
            1e-6,
        );
        assert_eq!(
            x.prod(Some(0), false).unwrap().to_f32_vec().unwrap(),
            vec![4., 10., 18.]
        );
        assert_eq!(
            x.cumsum(1).unwrap().to_f32_vec().unwrap(),
            vec![1., 6., 9., 4., 6., 12.]
        );
        assert_eq!(
            x.gt(&Tensor::scalar(0.0).unwrap())
                .unwrap()
                .all(None, false)
                .unwrap()
                .to_bool_vec()
                .unwrap(),
            vec![true]
        );
        assert_eq!(
            x.gt(&Tensor::scalar(5.5).unwrap())
                .unwrap()
                .any(Some(1), false)
                .unwrap()
                .to_bool_vec()
                .unwrap(),
            vec![false, true]
        );
        assert_eq!(ti(&[3, 1, 2], &[3]).sum().unwrap().dtype(), DType::I64);
        assert_eq!(
            t(&[3., 1., 2., 5.], &[4]).median().unwrap().item().unwrap(),
            2.0
        );
        let s = t(&[3., 1., 2.], &[3]).sort(0, false).unwrap();
        assert_eq!(s.values.to_f32_vec().unwrap(), vec![1., 2., 3.]);
        assert_eq!(s.indices.to_i64_vec().unwrap(), vec![1, 2, 0]);
    });
}

#[test]
fn large_reductions_are_accurate() {
    on_each_device("large_reductions_are_accurate", || {
        // One million ones sum exactly; a long mixed sum stays accurate.
        let ones = Tensor::ones(&[1_000_000], DType::F32, dev()).unwrap();
        assert_eq!(ones.sum().unwrap().item().unwrap(), 1_000_000.0);
        let r = Tensor::arange(0.0, 100_000.0, 1.0, false, dev()).unwrap();
        assert!(
            (r.sum().unwrap().item().unwrap() - 4_999_950_000.0).abs() / 4_999_950_000.0 < 1e-6
        );
    });
}

#[test]
fn matmul_follows_torch_matmul() {
    on_each_device("matmul_follows_torch_matmul", || {
        let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
        let b = t(&[7., 8., 9., 10., 11., 12.], &[3, 2]);
        let c = a.matmul(&b).unwrap();
        assert_eq!(c.shape(), &[2, 2]);
        assert_eq!(c.to_f32_vec().unwrap(), vec![58., 64., 139., 154.]);
        let v = t(&[1., 0., -1.], &[3]);
        assert_eq!(v.matmul(&v).unwrap().shape(), &[] as &[usize]);
        assert_eq!(v.matmul(&v).unwrap().item().unwrap(), 2.0);
        assert_eq!(a.matmul(&v).unwrap().to_f32_vec().unwrap(), vec![-2., -2.]);
        assert_eq!(
            t(&[1., 1.], &[2]).matmul(&a).unwrap().to_f32_vec().unwrap(),
            vec![5., 7., 9.]
        );
        // Batched with broadcasting: [2,1,2,3] @ [3,3,2] -> [2,3,2,2]
        let x = Tensor::ones(&[2, 1, 2, 3], DType::F32, dev()).unwrap();
        let y = Tensor::ones(&[3, 3, 2], DType::F32, dev()).unwrap();
        let z = x.matmul(&y).unwrap();
        assert_eq!(z.shape(), &[2, 3, 2, 2]);
        assert!(z.to_f32_vec().unwrap().iter().all(|&v| v == 3.0));
        assert_eq!(
            v.outer(&t(&[2., 3.], &[2])).unwrap().to_f32_vec().unwrap(),
            vec![2., 3., 0., 0., -2., -3.]
        );
        // A large product against a naive reference.
        let p = common::spread(&[67, 129], -1., 1., 1);
        let q = common::spread(&[129, 33], -1., 1., 2);
        let got = p.matmul(&q).unwrap().to_f32_vec().unwrap();
        let (pv, qv) = (p.to_f32_vec().unwrap(), q.to_f32_vec().unwrap());
        let mut want = vec![0f32; 67 * 33];
        for i in 0..67 {
            for j in 0..33 {
                want[i * 33 + j] = (0..129).map(|k| pv[i * 129 + k] * qv[k * 33 + j]).sum();
            }
        }
        assert_close(&got, &want, 1e-4);
    });
}

#[test]
fn shape_ops_match_pytorch() {
    on_each_device("shape_ops_match_pytorch", || {
        let x = Tensor::arange(0.0, 24.0, 1.0, true, dev())
            .unwrap()
            .reshape(&[2, 3, 4])
            .unwrap();
        assert_eq!(x.permute(&[2, 0, 1]).unwrap().shape(), &[4, 2, 3]);
        assert_eq!(
            x.permute(&[2, 0, 1]).unwrap().to_i64_vec().unwrap()[..6],
            [0, 4, 8, 12, 16, 20]
        );
        assert_eq!(
            x.transpose(0, 1).unwrap().to_i64_vec().unwrap()[..8],
            [0, 1, 2, 3, 12, 13, 14, 15]
        );
        assert_eq!(x.flatten(0, 1).unwrap().shape(), &[6, 4]);
        assert_eq!(x.unsqueeze(-1).unwrap().shape(), &[2, 3, 4, 1]);
        assert_eq!(
            x.unsqueeze(0).unwrap().squeeze().unwrap().shape(),
            &[2, 3, 4]
        );
        assert_eq!(
            x.slice(2, 1, 4, 2).unwrap().to_i64_vec().unwrap(),
            vec![1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23]
        );
        assert_eq!(
            x.narrow(1, 2, 1).unwrap().to_i64_vec().unwrap(),
            vec![8, 9, 10, 11, 20, 21, 22, 23]
        );
        assert_eq!(
            x.flip(&[2]).unwrap().to_i64_vec().unwrap()[..4],
            [3, 2, 1, 0]
        );
        let parts = x.split(3, 2).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].shape(), &[2, 3, 1]);
        assert_eq!(
            x.chunk(2, 1)
                .unwrap()
                .iter()
                .map(|p| p.shape()[1])
                .collect::<Vec<_>>(),
            vec![2, 1]
        );
        let r = ti(&[1, 2], &[2]).repeat(&[2, 2]).unwrap();
        assert_eq!(r.shape(), &[2, 4]);
        assert_eq!(r.to_i64_vec().unwrap(), vec![1, 2, 1, 2, 1, 2, 1, 2]);
        let e = ti(&[1, 2, 3], &[3, 1]).expand(&[-1, 2]).unwrap();
        assert_eq!(e.to_i64_vec().unwrap(), vec![1, 1, 2, 2, 3, 3]);
        let c = Tensor::cat(&[ti(&[1, 2], &[1, 2]), ti(&[3, 4, 5, 6], &[2, 2])], 0).unwrap();
        assert_eq!(c.shape(), &[3, 2]);
        let s = Tensor::stack(&[ti(&[1, 2], &[2]), ti(&[3, 4], &[2])], 1).unwrap();
        assert_eq!(s.to_i64_vec().unwrap(), vec![1, 3, 2, 4]);
        assert_eq!(x.reshape(&[-1, 6]).unwrap().shape(), &[4, 6]);
    });
}

#[test]
fn indexing_matches_pytorch() {
    on_each_device("indexing_matches_pytorch", || {
        let x = ti(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], &[4, 3]);
        assert_eq!(
            x.index(&IndexArg::Int(-1)).unwrap().to_i64_vec().unwrap(),
            vec![9, 10, 11]
        );
        assert_eq!(
            x.index(&IndexArg::Int(1))
                .unwrap()
                .index(&IndexArg::Int(2))
                .unwrap()
                .item()
                .unwrap(),
            5.0
        );
        assert_eq!(
            x.index(&IndexArg::Range {
                start: 1,
                end: 100,
                step: 2
            })
            .unwrap()
            .to_i64_vec()
            .unwrap(),
            vec![3, 4, 5, 9, 10, 11]
        );
        let idx = ti(&[3, 0], &[2]);
        assert_eq!(
            x.index(&IndexArg::Tensor(idx.clone()))
                .unwrap()
                .to_i64_vec()
                .unwrap(),
            vec![9, 10, 11, 0, 1, 2]
        );
        assert_eq!(
            x.index(&IndexArg::Tensor(ti(&[-1], &[1])))
                .unwrap()
                .to_i64_vec()
                .unwrap(),
            vec![9, 10, 11]
        );
        let mask = x
            .gt(&Tensor::from_i64(vec![8], &[], dev()).unwrap())
            .unwrap();
        assert_eq!(
            x.index(&IndexArg::Tensor(mask))
                .unwrap()
                .to_i64_vec()
                .unwrap(),
            vec![9, 10, 11]
        );
        assert_eq!(
            x.index_select(1, &ti(&[2, 0], &[2]))
                .unwrap()
                .to_i64_vec()
                .unwrap(),
            vec![2, 0, 5, 3, 8, 6, 11, 9]
        );
        // torch.gather(x, 1, [[0,0],[1,0],[2,2],[0,1]])
        let g = x
            .gather(1, &ti(&[0, 0, 1, 0, 2, 2, 0, 1], &[4, 2]))
            .unwrap();
        assert_eq!(g.to_i64_vec().unwrap(), vec![0, 0, 4, 3, 8, 8, 9, 10]);
        // torch.zeros(3,5).scatter_add_(0, [[0,1,2,0,0],[2,0,0,1,2]], ones(2,5))
        let z = Tensor::zeros(&[3, 5], DType::F32, dev()).unwrap();
        let s = z
            .scatter_add(
                0,
                &ti(&[0, 1, 2, 0, 0, 2, 0, 0, 1, 2], &[2, 5]),
                &Tensor::ones(&[2, 5], DType::F32, dev()).unwrap(),
            )
            .unwrap();
        assert_eq!(
            s.to_f32_vec().unwrap(),
            vec![1., 1., 1., 1., 1., 0., 1., 0., 1., 0., 1., 0., 1., 0., 1.]
        );
        let ia = Tensor::zeros(&[3, 2], DType::F32, dev())
            .unwrap()
            .index_add(
                0,
                &ti(&[0, 2, 0], &[3]),
                &t(&[1., 2., 3., 4., 5., 6.], &[3, 2]),
            )
            .unwrap();
        assert_eq!(ia.to_f32_vec().unwrap(), vec![6., 8., 0., 0., 3., 4.]);
        // In-place assignment (the mean-shift lesson's X[i] = row).
        let y = Tensor::zeros(&[3, 2], DType::F32, dev()).unwrap();
        let alias = y.clone();
        y.index_put_(&IndexArg::Int(1), &t(&[5., 6.], &[2]))
            .unwrap();
        y.index_put_(
            &IndexArg::Range {
                start: 2,
                end: 3,
                step: 1,
            },
            &Tensor::scalar(7.0).unwrap(),
        )
        .unwrap();
        assert_eq!(
            alias.to_f32_vec().unwrap(),
            vec![0., 0., 5., 6., 7., 7.],
            "writes are visible through every reference"
        );
        y.index_put_(
            &IndexArg::Tensor(tb(&[true, false, false], &[3])),
            &Tensor::scalar(1.0).unwrap(),
        )
        .unwrap();
        assert_eq!(y.to_f32_vec().unwrap()[..2], [1., 1.]);
    });
}

#[test]
fn kmeans_ops_match_tensorflow() {
    on_each_device("kmeans_ops_match_tensorflow", || {
        let data = t(&[1., 2., 3., 4., 5., 6., 7., 8.], &[4, 2]);
        let parts = Tensor::dynamic_partition(&data, &ti(&[1, 0, 1, 2], &[4]), 3).unwrap();
        assert_eq!(parts[0].to_f32_vec().unwrap(), vec![3., 4.]);
        assert_eq!(parts[1].to_f32_vec().unwrap(), vec![1., 2., 5., 6.]);
        assert_eq!(parts[2].to_f32_vec().unwrap(), vec![7., 8.]);
        let seg = Tensor::unsorted_segment_sum(&data, &ti(&[1, 0, 1, 1], &[4]), 3).unwrap();
        assert_eq!(seg.to_f32_vec().unwrap(), vec![3., 4., 13., 16., 0., 0.]);
        assert_eq!(
            ti(&[0, 1, 1, 3], &[4])
                .bincount(0)
                .unwrap()
                .to_i64_vec()
                .unwrap(),
            vec![1, 2, 0, 1]
        );
        assert_eq!(
            ti(&[0, 1], &[2]).bincount(4).unwrap().to_i64_vec().unwrap(),
            vec![1, 1, 0, 0]
        );
        assert!(Tensor::dynamic_partition(&data, &ti(&[1, 0, 5, 2], &[4]), 3).is_err());
    });
}

#[test]
fn nn_functions_match_pytorch() {
    on_each_device("nn_functions_match_pytorch", || {
        let x = t(&[1., 2., 3., 1., 1., 1.], &[2, 3]);
        // torch.softmax(tensor([1.,2.,3.]), 0) = [0.0900, 0.2447, 0.6652]
        assert_close(
            &x.softmax(1).unwrap().to_f32_vec().unwrap(),
            &[
                0.09003057,
                0.24472847,
                0.66524096,
                1. / 3.,
                1. / 3.,
                1. / 3.,
            ],
            1e-6,
        );
        assert_close(
            &x.log_softmax(1).unwrap().to_f32_vec().unwrap()[..3],
            &[-2.407606, -1.4076059, -0.40760595],
            1e-6,
        );
        // F.cross_entropy(x, [2, 0]) = (0.40760595 + 1.0986123) / 2
        let ce = Tensor::cross_entropy(&x, &ti(&[2, 0], &[2])).unwrap();
        assert_close(&[ce.item().unwrap() as f32], &[0.7531091], 1e-6);
        let probs = t(&[0., 0., 1., 1., 0., 0.], &[2, 3]);
        assert_close(
            &[Tensor::cross_entropy(&x, &probs).unwrap().item().unwrap() as f32],
            &[0.7531091],
            1e-6,
        );
        assert_close(
            &[
                Tensor::nll_loss(&x.log_softmax(1).unwrap(), &ti(&[2, 0], &[2]))
                    .unwrap()
                    .item()
                    .unwrap() as f32,
            ],
            &[0.7531091],
            1e-6,
        );
        // F.one_hot(tensor([2, 0]), 3) is i64, as is F.one_hot with the classes inferred
        let oh = Tensor::one_hot(&ti(&[2, 0], &[2]), 3, DType::I64).unwrap();
        assert_eq!(oh.dtype(), DType::I64);
        assert_eq!(oh.to_i64_vec().unwrap(), vec![0, 0, 1, 1, 0, 0]);
        let inferred = Tensor::one_hot(&ti(&[1, 0], &[2]), -1, DType::F32).unwrap();
        assert_eq!(inferred.shape(), &[2, 2]);
        assert_eq!(inferred.to_f32_vec().unwrap(), vec![0., 1., 1., 0.]);
        assert_eq!(
            Tensor::mse_loss(&t(&[1., 2.], &[2]), &t(&[2., 4.], &[2]))
                .unwrap()
                .item()
                .unwrap(),
            2.5
        );
        // F.binary_cross_entropy(tensor([0.8, 0.3]), tensor([1., 0.])) = 0.2899092
        let p = t(&[0.8, 0.3], &[2]);
        let y = t(&[1., 0.], &[2]);
        assert_close(
            &[Tensor::binary_cross_entropy(&p, &y)
                .unwrap()
                .item()
                .unwrap() as f32],
            &[0.2899092],
            1e-6,
        );
        // with logits: (log(1 + e^-2) + log(1 + e^-1)) / 2 = 0.2200948
        assert_close(
            &[
                Tensor::binary_cross_entropy_with_logits(&t(&[2., -1.], &[2]), &y)
                    .unwrap()
                    .item()
                    .unwrap() as f32,
            ],
            &[0.2200948],
            1e-6,
        );
        let w = t(&[0., 1., 10., 11., 20., 21.], &[3, 2]);
        let e = Tensor::embedding(&ti(&[2, 0, 2], &[1, 3]), &w).unwrap();
        assert_eq!(e.shape(), &[1, 3, 2]);
        assert_eq!(e.to_f32_vec().unwrap(), vec![20., 21., 0., 1., 20., 21.]);
        // Dropout keeps the expectation and is the identity when not training.
        ember::tensor::random::manual_seed(0);
        let ones = Tensor::ones(&[100_000], DType::F32, dev()).unwrap();
        let d = ones.dropout(0.25, true).unwrap();
        let kept = d
            .to_f32_vec()
            .unwrap()
            .iter()
            .filter(|&&v| v != 0.0)
            .count() as f64
            / 100_000.0;
        assert!((kept - 0.75).abs() < 0.01, "kept fraction {kept}");
        assert!((d.mean().unwrap().item().unwrap() - 1.0).abs() < 0.02);
        assert_eq!(
            ones.dropout(0.25, false).unwrap().to_f32_vec().unwrap(),
            ones.to_f32_vec().unwrap()
        );
    });
}

#[test]
fn creation_and_random_generation() {
    on_each_device("creation_and_random_generation", || {
        let a = Tensor::arange(0.0, 1.0, 0.25, false, dev()).unwrap();
        assert_eq!(a.to_f32_vec().unwrap(), vec![0., 0.25, 0.5, 0.75]);
        assert_eq!(
            Tensor::arange(5.0, 0.0, -2.0, true, dev())
                .unwrap()
                .to_i64_vec()
                .unwrap(),
            vec![5, 3, 1]
        );
        assert_eq!(
            Tensor::linspace(0.0, 1.0, 5, dev())
                .unwrap()
                .to_f32_vec()
                .unwrap(),
            vec![0., 0.25, 0.5, 0.75, 1.]
        );
        assert_eq!(
            Tensor::eye(2, 3, dev()).unwrap().to_f32_vec().unwrap(),
            vec![1., 0., 0., 0., 1., 0.]
        );
        ember::tensor::random::manual_seed(7);
        let r1 = Tensor::normal(&[1000], 0.0, 1.0, dev()).unwrap();
        ember::tensor::random::manual_seed(7);
        let r2 = Tensor::normal(&[1000], 0.0, 1.0, dev()).unwrap();
        assert_eq!(
            r1.to_f32_vec().unwrap(),
            r2.to_f32_vec().unwrap(),
            "same seed, same numbers"
        );
        let big = Tensor::normal(&[100_000], 2.0, 3.0, dev()).unwrap();
        assert!((big.mean().unwrap().item().unwrap() - 2.0).abs() < 0.05);
        assert!((big.std(None, true, false).unwrap().item().unwrap() - 3.0).abs() < 0.05);
        let u = Tensor::uniform(&[100_000], -35.0, 35.0, dev()).unwrap();
        let v = u.to_f32_vec().unwrap();
        assert!(v.iter().all(|&x| (-35.0..35.0).contains(&x)));
        let ri = Tensor::randint(3, 6, &[1000], dev())
            .unwrap()
            .to_i64_vec()
            .unwrap();
        assert!(ri.iter().all(|&x| (3..6).contains(&x)) && ri.contains(&3) && ri.contains(&5));
        let mut p = Tensor::randperm(50, dev()).unwrap().to_i64_vec().unwrap();
        p.sort();
        assert_eq!(p, (0..50).collect::<Vec<_>>());
    });
}

#[test]
fn printing_looks_like_pytorch() {
    on_each_device("printing_looks_like_pytorch", || {
        let x = t(&[1.5, -2.25, 3.0, 4.0], &[2, 2]);
        assert_eq!(
            x.to_string(),
            format!(
                "tensor([[ 1.5000, -2.2500],\n        [ 3.0000,  4.0000]], shape=[2, 2], dtype=f32, device={})",
                dev()
            )
        );
        assert_eq!(
            ti(&[1, 20], &[2]).to_string(),
            format!("tensor([ 1, 20], shape=[2], dtype=i64, device={})", dev())
        );
        assert_eq!(
            t(&[1., 2.], &[2]).to_string(),
            format!("tensor([1., 2.], shape=[2], dtype=f32, device={})", dev())
        );
        assert_eq!(
            Tensor::scalar(0.5).unwrap().to_string(),
            "tensor(0.5000, shape=[], dtype=f32, device=cpu)"
        );
        let big = Tensor::arange(0.0, 5000.0, 1.0, true, dev()).unwrap();
        assert_eq!(
            big.to_string(),
            format!(
                "tensor([   0,    1,    2, ..., 4997, 4998, 4999], shape=[5000], dtype=i64, device={})",
                dev()
            )
        );
        assert!(t(&[1e-6, 1.0], &[2]).to_string().contains("1.0000e-06"));
        assert!(tb(&[true, false], &[2]).to_string().contains("True, False"));
    });
}

#[test]
fn allclose_and_conversions() {
    on_each_device("allclose_and_conversions", || {
        let a = t(&[1.0, 2.0], &[2]);
        assert!(
            a.allclose(&t(&[1.0 + 1e-7, 2.0], &[2]), 1e-5, 1e-8)
                .unwrap()
        );
        assert!(!a.allclose(&t(&[1.1, 2.0], &[2]), 1e-5, 1e-8).unwrap());
        assert_eq!(
            t(&[1.7, -1.7], &[2])
                .to_dtype(DType::I64)
                .unwrap()
                .to_i64_vec()
                .unwrap(),
            vec![1, -1]
        );
        assert_eq!(Tensor::scalar(3.5).unwrap().item().unwrap(), 3.5);
        assert!(a.item().is_err());
        let nd = a.to_ndarray().unwrap();
        assert_eq!(
            Tensor::from_ndarray(&nd).unwrap().to_f32_vec().unwrap(),
            vec![1.0, 2.0]
        );
    });
}
