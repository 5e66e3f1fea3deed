// Row softmax (max, exp, sum, divide as linalg.generic with math.exp) on a
// ragged static shape and on dynamic shapes, compared with NumPy in float64
// (Inputs/softmax.py).
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: kvq-compile %s -o %t/ --name=softmax
// RUN: %python %S/Inputs/softmax.py %t/softmax.json

#rows = affine_map<(i, j) -> (i)>
#elems = affine_map<(i, j) -> (i, j)>

func.func @softmax_37x131(%x: tensor<37x131xf32>) -> tensor<37x131xf32> {
  %y = call @softmax(%x) : (tensor<37x131xf32>) -> tensor<37x131xf32>
  return %y : tensor<37x131xf32>
}

func.func @softmax_dynamic(%x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %y = call @softmax_impl(%x) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

func.func private @softmax(%x: tensor<37x131xf32>) -> tensor<37x131xf32> {
  %d = tensor.cast %x : tensor<37x131xf32> to tensor<?x?xf32>
  %y = call @softmax_impl(%d) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %s = tensor.cast %y : tensor<?x?xf32> to tensor<37x131xf32>
  return %s : tensor<37x131xf32>
}

func.func private @softmax_impl(%x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %x, %c0 : tensor<?x?xf32>
  %n = tensor.dim %x, %c1 : tensor<?x?xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %rows = tensor.empty(%m) : tensor<?xf32>
  %elems = tensor.empty(%m, %n) : tensor<?x?xf32>

  %max_init = linalg.fill ins(%ninf : f32) outs(%rows : tensor<?xf32>) -> tensor<?xf32>
  %max = linalg.generic {indexing_maps = [#elems, #rows],
                         iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x?xf32>) outs(%max_init : tensor<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>

  %exp = linalg.generic {indexing_maps = [#elems, #rows, #elems],
                         iterator_types = ["parallel", "parallel"]}
      ins(%x, %max : tensor<?x?xf32>, tensor<?xf32>)
      outs(%elems : tensor<?x?xf32>) {
  ^bb0(%a: f32, %mx: f32, %o: f32):
    %d = arith.subf %a, %mx : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  } -> tensor<?x?xf32>

  %sum_init = linalg.fill ins(%zero : f32) outs(%rows : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {indexing_maps = [#elems, #rows],
                         iterator_types = ["parallel", "reduction"]}
      ins(%exp : tensor<?x?xf32>) outs(%sum_init : tensor<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>

  %y = linalg.generic {indexing_maps = [#elems, #rows, #elems],
                       iterator_types = ["parallel", "parallel"]}
      ins(%exp, %sum : tensor<?x?xf32>, tensor<?xf32>)
      outs(%elems : tensor<?x?xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.divf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}
